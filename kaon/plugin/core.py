"""The core plugin: one transaction per API call, events after commit.

It knows nothing of HTTP.  Every call takes a request Context and API-shaped
dicts (already validated by the API layer) and returns API-shaped dicts.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from sqlalchemy.engine import Connection

from kaon.context import Context
from kaon.db.engine import Database
from kaon.plugin import agents, dhcp, networks, ports, quotas, subnets
from kaon.plugin.events import Events
from kaon.plugin.query import ListQuery
from kaon.scheduler import dhcp as scheduler


@dataclasses.dataclass(frozen=True)
class _Ops:
    list: Callable[[Connection, Context, ListQuery], list[dict]]
    get: Callable[[Connection, Context, str], dict]
    create: Callable[[Connection, Context, list[dict]], list[dict]] | None
    update: Callable[[Connection, Context, str, dict], Any]
    delete: Callable[[Connection, Context, str], Any]


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
}


class Plugin:
    def __init__(self, db: Database, events: Events | None = None) -> None:
        self.db = db
        self.events = events or Events()

    def list(self, resource: str, ctx: Context,
             query: ListQuery) -> list[dict]:
        with self.db.reading() as conn:
            return _OPS[resource].list(conn, ctx, query)

    def get(self, resource: str, ctx: Context, item_id: str) -> dict:
        with self.db.reading() as conn:
            return _OPS[resource].get(conn, ctx, item_id)

    def create(self, resource: str, ctx: Context,
               bodies: list[dict]) -> list[dict]:
        """Create one or many (bulk) resources, all or nothing."""
        ops = _OPS[resource]
        created = self.db.write(lambda conn: ops.create(conn, ctx, bodies))
        return self._created(resource, ctx, created)

    def create_agent_port(self, ctx: Context, body: dict) -> dict:
        """The port a DHCP agent makes for itself, exempt from the port
        quota but counted in it (kaon.plugin.quotas states the rule)."""
        port, new = self.db.write(
            lambda conn: ports.create_agent_port(conn, ctx, body))
        return self._created('port', ctx, [port])[0] if new else port

    def _created(self, resource: str, ctx: Context,
                 created: list[dict]) -> list[dict]:
        for item in created:
            self.events.publish(resource, 'create', ctx, {resource: item})
        return created

    def update(self, resource: str, ctx: Context, item_id: str,
               body: dict) -> dict:
        ops = _OPS[resource]

        def work(conn: Connection) -> tuple[Any, dict]:
            original = ops.update(conn, ctx, item_id, body)
            return original, ops.get(conn, ctx, item_id)
        original, updated = self.db.write(work)
        payload = {resource: updated}
        if isinstance(original, dict):
            payload[f'original_{resource}'] = original
        self.events.publish(resource, 'update', ctx, payload)
        return updated

    def delete(self, resource: str, ctx: Context, item_id: str) -> None:
        ops = _OPS[resource]
        removed = self.db.write(lambda conn: ops.delete(conn, ctx, item_id))
        self.events.publish(resource, 'delete', ctx,
                            {f'{resource}_id': item_id, 'removed': removed})

    def network_owners(self, ctx: Context,
                       net_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.db.reading() as conn:
            return networks.owners(conn, ctx, net_ids)

    # Quotas are not a standard resource: keyed by project, no id of their own.
    def get_quota(self, project_id: str) -> dict[str, int]:
        with self.db.reading() as conn:
            return quotas.limits(conn, project_id)

    def list_quotas(self) -> list[dict[str, Any]]:
        with self.db.reading() as conn:
            return [dict(quotas.limits(conn, p), project_id=p, tenant_id=p)
                    for p in quotas.projects_with_quotas(conn)]

    def update_quota(self, project_id: str,
                     changes: dict[str, int]) -> dict[str, int]:
        def work(conn: Connection) -> dict[str, int]:
            quotas.set_limits(conn, project_id, changes)
            return quotas.limits(conn, project_id)
        return self.db.write(work)

    def delete_quota(self, project_id: str) -> None:
        self.db.write(lambda conn: quotas.reset(conn, project_id))

    # The DHCP side: heartbeats, network info for agents, scheduling.
    def report_state(self, state: dict[str, Any]) -> str:
        return self.db.write(lambda conn: agents.report_state(conn, state))

    def network_infos(self, network_ids: list[str],
                      dhcp_only: bool = True) -> list[dict]:
        with self.db.reading() as conn:
            return dhcp.network_infos(conn, network_ids, dhcp_only)

    def set_ports_status(self, port_ids: list[str], status: str) -> None:
        self.db.write(lambda conn: dhcp.set_ports_status(conn, port_ids,
                                                         status))

    def agent_networks(self, ctx: Context, agent_id: str) -> list[dict]:
        with self.db.reading() as conn:
            agents.get_agent(conn, ctx, agent_id)
            ids = scheduler.hosted_networks(conn, agent_id)
            return networks.list_networks(conn, ctx, ListQuery(
                filters={'id': ids}))

    def network_agents(self, ctx: Context, network_id: str) -> list[dict]:
        with self.db.reading() as conn:
            networks.get_row(conn, ctx, network_id)
            return [agents.to_dict(a)
                    for a in scheduler.hosting_agents(conn, network_id)]

    def add_network_to_agent(self, ctx: Context, agent_id: str,
                             network_id: str) -> None:
        def work(conn: Connection) -> Any:
            agents.get_agent(conn, ctx, agent_id)
            networks.get_row(conn, ctx, network_id)
            return agents.to_dict(scheduler.add_network(conn, agent_id,
                                                        network_id))
        agent = self.db.write(work)
        self.events.publish('dhcp_agent_network', 'add', ctx,
                            {'network_id': network_id, 'agent': agent})

    def remove_network_from_agent(self, ctx: Context, agent_id: str,
                                  network_id: str) -> None:
        def work(conn: Connection) -> Any:
            agents.get_agent(conn, ctx, agent_id)
            return agents.to_dict(scheduler.remove_network(conn, agent_id,
                                                           network_id))
        agent = self.db.write(work)
        self.events.publish('dhcp_agent_network', 'remove', ctx,
                            {'network_id': network_id, 'agent': agent})
