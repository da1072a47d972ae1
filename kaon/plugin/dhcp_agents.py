"""Which DHCP agents serve which network, as the plugin offers it
(Neutron's DhcpAgentSchedulerDbMixin): for the admin's
dhcp_agent_scheduler extension, the DHCP agents' RPC calls, the notifier
and failover.  Placement and the bindings' SQL are kaon.scheduler.dhcp's;
this module adds who may ask what, the errors, and the API's dicts.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.constants import AGENT_TYPE_DHCP
from kaon.context import Context
from kaon.plugin import agents, networks
from kaon.plugin.query import ListQuery
from kaon.scheduler import dhcp as scheduler


@dataclasses.dataclass(frozen=True)
class Hosting:
    """What a notification about one network needs, read at once: the
    agents hosting it, whether scheduling could add one, and the network
    (only when some agent will hear of it)."""
    agents: list[dict[str, Any]]
    can_add_agent: bool
    network: dict[str, Any] | None


def get_dhcp_agents_hosting_networks(
        conn: Connection, ctx: Context,
        network_ids: list[str]) -> list[dict[str, Any]]:
    """No visibility check: a network deleted meanwhile has no agents."""
    return [agents.to_dict(a)
            for a in scheduler.hosting_agents(conn, network_ids)]


def list_dhcp_agents_hosting_network(conn: Connection, ctx: Context,
                                     network_id: str) -> list[dict[str, Any]]:
    networks.get_row(conn, ctx, network_id)       # 404 if not visible
    return get_dhcp_agents_hosting_networks(conn, ctx, [network_id])


def list_networks_on_dhcp_agent(conn: Connection, ctx: Context,
                                agent_id: str) -> list[dict[str, Any]]:
    agents.get_row(conn, agent_id)                # 404 if none
    ids = scheduler.hosted_networks(conn, agent_id)
    return networks.list_networks(conn, ctx, ListQuery(filters={'id': ids}))


def _check_dhcp_agent(agent: dict[str, Any], admin_up: bool) -> None:
    if agent['agent_type'] != AGENT_TYPE_DHCP or \
            (admin_up and not agent['admin_state_up']):
        raise exc.InvalidDHCPAgent(id=agent['id'])


def add_network_to_dhcp_agent(conn: Connection, ctx: Context, agent_id: str,
                              network_id: str) -> dict[str, Any]:
    """An admin binds a network to an agent by hand; returns the agent."""
    agent = agents.get_agent(conn, ctx, agent_id)
    networks.get_row(conn, ctx, network_id)
    _check_dhcp_agent(agent, admin_up=True)
    if network_id in scheduler.hosted_networks(conn, agent_id):
        raise exc.NetworkHostedByDHCPAgent(network_id=network_id,
                                       agent_id=agent_id)
    scheduler.bind(conn, network_id, agent_id)
    return agent


def remove_network_from_dhcp_agent(conn: Connection, ctx: Context,
                                   agent_id: str,
                                   network_id: str) -> dict[str, Any]:
    """An admin takes a network off an agent; returns the agent (told to
    drop the network).  Its DHCP port stays, reserved for the agent that
    serves the network next (kaon.scheduler.dhcp.unbind)."""
    row = agents.get_row(conn, agent_id)
    agent = agents.to_dict(row)
    _check_dhcp_agent(agent, admin_up=False)
    if not scheduler.unbind(conn, network_id, row):
        raise exc.NetworkNotHostedByDhcpAgent(network_id=network_id,
                                          agent_id=agent_id)
    return agent


def schedule_network(conn: Connection, ctx: Context,
                     network_id: str) -> list[dict[str, Any]]:
    """Bind the network to as many agents as it lacks; the new ones."""
    return [agents.to_dict(a)
            for a in scheduler.schedule_network(conn, network_id)]


def hosting(conn: Connection, ctx: Context, network_id: str,
            schedule: bool) -> Hosting:
    """One read instead of three: with no agent at all, a port create
    costs the notifier this read alone.  `schedule` asks whether another
    agent could be added (only then is it worth a write transaction)."""
    hosts = get_dhcp_agents_hosting_networks(conn, ctx, [network_id])
    can_add = schedule and \
        len(hosts) < CONF.dhcp_agents_per_network and \
        scheduler.could_add_agent(conn, {a['id'] for a in hosts})
    network = networks.get_network(conn, ctx, network_id) \
        if hosts or can_add else None
    return Hosting(hosts, can_add, network)
