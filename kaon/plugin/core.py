"""The core plugin: one transaction per API call, events after commit.

It knows nothing of HTTP or RPC.  Every call takes a request Context and
API-shaped dicts (already validated by the caller) and returns API-shaped
dicts.  The API, the DHCP agents' RPC endpoints, the notifier and failover
all come through here: none of them opens a transaction of its own.
"""
from __future__ import annotations

import builtins
import dataclasses
import logging
from typing import Any, Callable, cast

from sqlalchemy.engine import Connection

from kaon.conf import CONF
from kaon.context import Context
from kaon.db.engine import Database
from kaon.plugin import (
    agents,
    dhcp,
    dhcp_agents,
    l2,
    l2pop,
    networks,
    ports,
    provisioning,
    quotas,
    rbac_policies,
    revisions,
    security_groups,
    segments,
    sg_info,
    sg_rules,
    subnetpools,
    subnets,
)
from kaon.plugin.events import Events
from kaon.plugin.query import ListQuery
from kaon.scheduler import dhcp as scheduler
from kaon.wire import DhcpPortBody, NetworkInfo, Port, SecurityGroupInfo
from kaon.wire_l2 import DeviceDetails, FdbEntries

LOG = logging.getLogger(__name__)
# Module-level names: inside the classes `list` is a method or a field.
Item = dict[str, Any]
Items = list[Item]
Ids = list[str]


@dataclasses.dataclass(frozen=True)
class _Ops:
    list: Callable[[Connection, Context, ListQuery], Items]
    get: Callable[[Connection, Context, str], Item]
    create: Callable[[Connection, Context, Items], Items] | None
    # Returns the item as it was, when the resource's events carry it.
    update: Callable[[Connection, Context, str, Item], Item | None]
    # Returns what the delete event carries as `removed`: the item as it
    # was (a network: the ids of the DHCP ports deleted with it).
    delete: Callable[[Connection, Context, str], Item | Ids]


_OPS = {
    'network': _Ops(networks.list_networks, networks.get_network,
                    networks.create_networks, networks.update_network,
                    networks.delete_network),
    'subnet': _Ops(subnets.list_subnets, subnets.get_subnet,
                   subnets.create_subnets, subnets.update_subnet,
                   subnets.delete_subnet),
    'port': _Ops(ports.list_ports, ports.get_port, ports.create_ports,
                 ports.update_port, ports.delete_port),
    'agent': _Ops(agents.list_agents, agents.get_agent, None,
                  agents.update_agent, agents.delete_agent),
    'rbac_policy': _Ops(rbac_policies.list_policies, rbac_policies.get_policy,
                        rbac_policies.create_policies,
                        rbac_policies.update_policy,
                        rbac_policies.delete_policy),
    'security_group': _Ops(
        security_groups.list_security_groups,
        security_groups.get_security_group,
        security_groups.create_security_groups,
        security_groups.update_security_group,
        security_groups.delete_security_group),
    'security_group_rule': _Ops(sg_rules.list_rules, sg_rules.get_rule,
                                sg_rules.create_rules, sg_rules.no_update,
                                sg_rules.delete_rule),
    'default_security_group_rule': _Ops(
        sg_rules.list_templates, sg_rules.get_template,
        sg_rules.create_templates, sg_rules.no_update_template,
        sg_rules.delete_template),
    'subnetpool': _Ops(subnetpools.list_subnetpools,
                       subnetpools.get_subnetpool,
                       subnetpools.create_subnetpools,
                       subnetpools.update_subnetpool,
                       subnetpools.delete_subnetpool),
}
# Listing these is a project's first use of security groups (Neutron
# creates the default group then).
_FIRST_USE = ('security_group', 'security_group_rule')


class Plugin:
    def __init__(self, db: Database, events: Events | None = None) -> None:
        self.db = db
        self.events = events or Events()

    def list(self, resource: str, ctx: Context, query: ListQuery) -> Items:
        if resource in _FIRST_USE:
            self._ensure_default_group(ctx, query)
        with self.db.reading() as conn:
            return _OPS[resource].list(conn, ctx, query)

    def _ensure_default_group(self, ctx: Context, query: ListQuery) -> None:
        """The default group of the project listed (the first project_id
        filter, else the caller's), made in a write of its own only if
        it is missing."""
        projects = query.filters.get('project_id') or \
            query.filters.get('tenant_id') or [ctx.project_id]
        project = str(projects[0])
        if project != ctx.project_id and not ctx.is_admin:
            return
        with self.db.reading() as conn:
            if security_groups.default_group_id(conn, project):
                return
        self.db.write(lambda conn: security_groups.ensure_default(
            conn, project))

    def get(self, resource: str, ctx: Context, item_id: str) -> Item:
        with self.db.reading() as conn:
            return _OPS[resource].get(conn, ctx, item_id)

    def create(self, resource: str, ctx: Context, bodies: Items) -> Items:
        """Create one or many (bulk) resources, all or nothing."""
        create = _OPS[resource].create
        if create is None:
            raise TypeError(f'{resource} is not created through the plugin')
        created = self.db.write(lambda conn: create(conn, ctx, bodies))
        return self._created(resource, ctx, created)

    def _created(self, resource: str, ctx: Context, created: Items) -> Items:
        for item in created:
            self.events.publish(resource, 'create', ctx, {resource: item})
        return created

    def update(self, resource: str, ctx: Context, item_id: str,
               body: Item, if_revision: int | None = None) -> Item:
        """`if_revision`: the revision the item must be at (If-Match),
        checked in the transaction that changes it."""
        ops = _OPS[resource]

        def change(conn: Connection) -> Item | None:
            revisions.check(conn, resource, item_id, if_revision)
            return ops.update(conn, ctx, item_id, body)
        return self._update(resource, ctx, item_id, change)

    def _update(self, resource: str, ctx: Context, item_id: str,
                change: Callable[[Connection], Item | None]) -> Item:
        """Run `change`, read the item back in the same transaction and
        publish the update with the item before and after."""
        get = _OPS[resource].get

        def work(conn: Connection) -> tuple[Item | None, Item]:
            original = change(conn)
            return original, get(conn, ctx, item_id)
        original, updated = self.db.write(work)
        payload = {resource: updated}
        if original is not None:
            payload[f'original_{resource}'] = original
        self.events.publish(resource, 'update', ctx, payload)
        return updated

    def delete(self, resource: str, ctx: Context, item_id: str,
               if_revision: int | None = None) -> None:
        ops = _OPS[resource]

        def work(conn: Connection) -> Item | Ids:
            revisions.check(conn, resource, item_id, if_revision)
            return ops.delete(conn, ctx, item_id)
        self._deleted(resource, ctx, item_id, self.db.write(work))

    def _deleted(self, resource: str, ctx: Context, item_id: str,
                 removed: Item | Ids) -> None:
        self.events.publish(resource, 'delete', ctx,
                            {f'{resource}_id': item_id, 'removed': removed})

    def network_owners(self, ctx: Context,
                       net_ids: Ids) -> dict[str, Item]:
        with self.db.reading() as conn:
            return networks.owners(conn, ctx, net_ids)

    def security_group_owners(self, sg_ids: Ids) -> dict[str, str]:
        """Group id -> owning project, for policy targets of rules."""
        with self.db.reading() as conn:
            return security_groups.owners(conn, sg_ids)

    # Quotas are not a standard resource: keyed by project, no id of their own.
    def get_quota(self, project_id: str) -> dict[str, int]:
        with self.db.reading() as conn:
            return quotas.limits(conn, project_id)

    def quota_details(self, project_id: str) -> dict[str, dict[str, int]]:
        with self.db.reading() as conn:
            return quotas.details(conn, project_id)

    def list_quotas(self) -> Items:
        with self.db.reading() as conn:
            return [dict(quotas.limits(conn, p), project_id=p, tenant_id=p)
                    for p in quotas.projects_with_quotas(conn)]

    def update_quota(self, project_id: str, changes: dict[str, int],
                     force: bool = False) -> dict[str, int]:
        def work(conn: Connection) -> dict[str, int]:
            if not force:
                quotas.check_limits(conn, project_id, changes)
            quotas.set_limits(conn, project_id, changes)
            return quotas.limits(conn, project_id)
        return self.db.write(work)

    def delete_quota(self, project_id: str) -> None:
        self.db.write(lambda conn: quotas.reset(conn, project_id))

    # What DHCP agents ask over RPC (Neutron's DhcpRpcCallback and
    # AgentExtRpcCallback, whose names these are).
    def report_state(self, state: Item) -> str:
        """A heartbeat: 'new', 'alive' or 'revived'."""
        return self.db.write(lambda conn: agents.report_state(conn, state))

    def get_active_networks_info(self, ctx: Context, host: str,
                                 dhcp_only: bool = True
                                 ) -> builtins.list[NetworkInfo]:
        """The network infos the agent on `host` should serve, after
        giving it the networks short of agents (network_auto_schedule)."""
        if CONF.network_auto_schedule:
            self.auto_schedule_networks(ctx, host)
        with self.db.reading() as conn:
            return dhcp.active_network_infos(conn, host, dhcp_only)

    def network_infos(self, network_ids: Ids, dhcp_only: bool = True
                      ) -> builtins.list[NetworkInfo]:
        with self.db.reading() as conn:
            return dhcp.network_infos(conn, network_ids, dhcp_only)

    def get_network_info(self, network_id: str) -> NetworkInfo | None:
        """One network as an agent sees it; None if it is gone."""
        infos = self.network_infos([network_id])
        return infos[0] if infos else None

    def create_dhcp_port(self, ctx: Context, host: str,
                         body: DhcpPortBody) -> Port:
        """The agent's own port: exempt from the port quota but counted
        in it (kaon.plugin.quotas states the rule); the same port again
        if the agent asks twice."""
        port, new = self.db.write(
            lambda conn: dhcp.create_dhcp_port(conn, ctx, host, body))
        if new:
            self._created('port', ctx, [port])
        return cast(Port, port)

    def update_dhcp_port(self, ctx: Context, host: str, port_id: str,
                         body: DhcpPortBody) -> Port:
        return cast(Port, self._update(
            'port', ctx, port_id, lambda conn: dhcp.update_dhcp_port(
                conn, ctx, host, port_id, body)))

    def release_dhcp_port(self, ctx: Context, network_id: str,
                          device_id: str) -> None:
        removed = self.db.write(lambda conn: dhcp.release_dhcp_port(
            conn, ctx, network_id, device_id))
        for port in removed:
            self._deleted('port', ctx, port['id'], port)

    def set_ports_status(self, port_ids: Ids, status: str) -> None:
        """dhcp_ready_on_ports (status ACTIVE): the ports' 'DHCP' block
        is done; those with none left are ACTIVE (kaon.plugin.provisioning)."""
        if status != provisioning.ACTIVE:
            raise ValueError(f'DHCP agents report ports ready, not {status}')
        self.db.write(lambda conn: provisioning.complete(
            conn, port_ids, provisioning.DHCP_ENTITY))

    # What firewalls ask over RPC (Neutron's SecurityGroupServerRpcMixin).
    def security_group_info_for_ports(self, ctx: Context,
                                      port_ids: Ids) -> SecurityGroupInfo:
        """The ports (ids, id prefixes or tap names), their groups'
        rules and their remote groups' members (kaon.plugin.sg_info)."""
        with self.db.reading() as conn:
            return sg_info.info_for_ports(conn, port_ids)

    # Scheduling (Neutron's DhcpAgentSchedulerDbMixin).
    def auto_schedule_networks(self, ctx: Context, host: str) -> Ids:
        """Give the agent on `host` the DHCP networks short of agents."""
        ids = self.db.write(
            lambda conn: scheduler.auto_schedule_networks(conn, host))
        for network_id in ids:
            LOG.info('network %s auto-scheduled to %s', network_id, host)
        return ids

    def schedule_network(self, ctx: Context, network_id: str) -> Items:
        """Bind the network to the agents it lacks; returns those agents
        (the caller tells them: network_create_end)."""
        return self.db.write(lambda conn: dhcp_agents.schedule_network(
            conn, ctx, network_id))

    def get_dhcp_agents_hosting_networks(self, ctx: Context,
                                         network_ids: Ids) -> Items:
        with self.db.reading() as conn:
            return dhcp_agents.get_dhcp_agents_hosting_networks(
                conn, ctx, network_ids)

    def dhcp_hosting(self, ctx: Context, network_id: str,
                     schedule: bool) -> dhcp_agents.Hosting:
        """In one read, the agents hosting the network, whether one more
        could be added (asked only when `schedule`) and the network dict
        when an agent is or may be there to hear of it."""
        with self.db.reading() as conn:
            return dhcp_agents.hosting(conn, ctx, network_id, schedule)

    def remove_networks_from_down_agents(self, ctx: Context) -> Ids:
        """Failover: unbind the agents silent for liveness.failover_limit();
        returns the networks that lost one (to schedule again)."""
        return self.db.write(scheduler.remove_networks_from_down_agents)

    # The admin's dhcp_agent_scheduler extension.
    def agent_networks(self, ctx: Context, agent_id: str) -> Items:
        with self.db.reading() as conn:
            return dhcp_agents.list_networks_on_dhcp_agent(conn, ctx,
                                                           agent_id)

    def network_agents(self, ctx: Context, network_id: str) -> Items:
        with self.db.reading() as conn:
            return dhcp_agents.list_dhcp_agents_hosting_network(
                conn, ctx, network_id)

    def add_network_to_agent(self, ctx: Context, agent_id: str,
                             network_id: str) -> None:
        agent = self.db.write(lambda conn: dhcp_agents
                              .add_network_to_dhcp_agent(conn, ctx, agent_id,
                                                         network_id))
        self.events.publish('dhcp_agent_network', 'add', ctx,
                            {'network_id': network_id, 'agent': agent})

    def remove_network_from_agent(self, ctx: Context, agent_id: str,
                                  network_id: str) -> None:
        agent = self.db.write(lambda conn: dhcp_agents
                              .remove_network_from_dhcp_agent(
                                  conn, ctx, agent_id, network_id))
        self.events.publish('dhcp_agent_network', 'remove', ctx,
                            {'network_id': network_id, 'agent': agent})

    # What L2 agents ask over RPC (ML2's RpcCallbacks); l2population's
    # entries ride on the events: ('l2pop', 'wired') {'host', 'wiring'},
    # ('l2pop', 'unwired') {'network_id', 'removed'}.
    def get_device_details(self, host: str, device: str) -> DeviceDetails:
        with self.db.reading() as conn:
            return l2.device_details(conn, host, device)

    def update_device_up(self, host: str, device: str,
                         refresh_tunnels: bool = False) -> bool:
        """The device is wired on `host`; False if it is no port bound
        there (nothing changed)."""
        up = self.db.write(lambda conn: l2.device_up(conn, host, device,
                                                     refresh_tunnels))
        if up is None:
            return False
        if up.wiring is not None:
            self.events.publish('l2pop', 'wired', Context.admin(), {
                'network_id': up.network_id, 'host': host,
                'wiring': up.wiring})
        return True

    def update_device_down(self, host: str, device: str) -> bool:
        """The device is gone from `host`; whether its port exists."""
        down = self.db.write(lambda conn: l2.device_down(conn, host, device))
        if down.removed is not None:
            self.events.publish('l2pop', 'unwired', Context.admin(), {
                'network_id': down.network_id, 'removed': down.removed})
        return down.exists

    def l2pop_reconcile(self, network_id: str) -> FdbEntries | None:
        """The forwarding entries to remove for the network's ports that
        were deleted or moved (kaon.plugin.l2pop.reconcile)."""
        with self.db.reading() as conn:
            if not l2pop.has_wired(conn, network_id):
                return None
        return self.db.write(lambda conn: l2pop.reconcile(conn, network_id))

    def segment(self, network_id: str) -> dict[str, Any]:
        """The network's provider attributes (all None if it is gone)."""
        with self.db.reading() as conn:
            return segments.attributes(conn, [network_id])[network_id]
