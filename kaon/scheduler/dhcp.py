"""Which DHCP agents serve which network (Neutron's WeightScheduler).

A network with a DHCP-enabled subnet is hosted by up to
`dhcp_agents_per_network` alive, admin-up DHCP agents, the least loaded
first.  Load is the number of networks an agent hosts, counted from the
bindings themselves rather than from the last heartbeat as Neutron does:
scheduling 100 networks between two heartbeats then still spreads them.
"""
from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.constants import AGENT_TYPE_DHCP
from kaon.db.models import agents, network_dhcp_agents as bindings, subnets
from kaon.plugin.agents import hosted_network_counts, utc_now


class NetworkHostedByDHCPAgent(exc.Conflict):
    message = ('The network %(network_id)s has been already hosted by the '
               'DHCP Agent %(agent_id)s.')


class NetworkNotHostedByDhcpAgent(exc.Conflict):
    message = ('The network %(network_id)s is not hosted by the DHCP agent '
               '%(agent_id)s.')


class InvalidDHCPAgent(exc.NotFound):
    message = 'Agent %(id)s is not a valid DHCP Agent or has been disabled.'


def _alive_since() -> datetime.datetime:
    return utc_now() - datetime.timedelta(seconds=CONF.agent_down_time)


def hosting_agents(conn: Connection, network_id: str) -> list[Any]:
    return conn.execute(select(agents).join(
        bindings, bindings.c.dhcp_agent_id == agents.c.id).where(
        bindings.c.network_id == network_id)
        .order_by(bindings.c.binding_index)).all()


def hosted_networks(conn: Connection, agent_id: str) -> list[str]:
    return list(conn.execute(select(bindings.c.network_id).where(
        bindings.c.dhcp_agent_id == agent_id)).scalars())


def has_dhcp_subnet(conn: Connection, network_id: str) -> bool:
    return conn.execute(select(subnets.c.id).where(
        subnets.c.network_id == network_id,
        subnets.c.enable_dhcp.is_(True)).limit(1)).first() is not None


def _eligible(conn: Connection) -> list[Any]:
    """Alive, admin-up DHCP agents, least loaded first."""
    rows = conn.execute(select(agents).where(
        agents.c.agent_type == AGENT_TYPE_DHCP,
        agents.c.admin_state_up.is_(True),
        agents.c.heartbeat_timestamp >= _alive_since())).all()
    load = hosted_network_counts(conn)
    return sorted(rows, key=lambda r: (load.get(r.id, 0), r.host))


def could_add_agent(conn: Connection, hosting: set[str]) -> bool:
    """Is there an alive, admin-up DHCP agent not hosting the network yet?
    (A read: the notifier asks it before it dares a write transaction.)"""
    return conn.execute(select(agents.c.id).where(
        agents.c.agent_type == AGENT_TYPE_DHCP,
        agents.c.admin_state_up.is_(True),
        agents.c.heartbeat_timestamp >= _alive_since(),
        agents.c.id.not_in(hosting)).limit(1)).first() is not None


def _bind(conn: Connection, network_id: str, agent_id: str) -> None:
    index = conn.execute(select(func.max(bindings.c.binding_index)).where(
        bindings.c.network_id == network_id)).scalar() or 0
    conn.execute(insert(bindings).values(
        network_id=network_id, dhcp_agent_id=agent_id,
        binding_index=index + 1))


def schedule_network(conn: Connection, network_id: str) -> list[Any]:
    """Bind the network to enough agents; returns the newly bound ones."""
    if not has_dhcp_subnet(conn, network_id):
        return []
    hosting = {a.id for a in hosting_agents(conn, network_id)}
    needed = CONF.dhcp_agents_per_network - len(hosting)
    if needed <= 0:
        return []
    chosen = [a for a in _eligible(conn) if a.id not in hosting][:needed]
    for agent in chosen:
        _bind(conn, network_id, agent.id)
    return chosen


def agent_for_host(conn: Connection, host: str) -> Any:
    return conn.execute(select(agents).where(
        agents.c.agent_type == AGENT_TYPE_DHCP,
        agents.c.host == host)).first()


def is_active(agent: Any) -> bool:
    return agent is not None and agent.admin_state_up and \
        agent.heartbeat_timestamp >= _alive_since()


def auto_schedule_networks(conn: Connection, host: str) -> list[str]:
    """Give the asking agent every DHCP network still short of agents."""
    agent = agent_for_host(conn, host)
    if not is_active(agent):
        return []
    counts = select(bindings.c.network_id, func.count().label('n')) \
        .group_by(bindings.c.network_id).subquery()
    mine = select(bindings.c.network_id).where(
        bindings.c.dhcp_agent_id == agent.id)
    candidates = conn.execute(
        select(subnets.c.network_id).distinct()
        .outerjoin(counts, counts.c.network_id == subnets.c.network_id)
        .where(subnets.c.enable_dhcp.is_(True),
               func.coalesce(counts.c.n, 0) < CONF.dhcp_agents_per_network,
               subnets.c.network_id.not_in(mine))).scalars().all()
    for network_id in candidates:
        _bind(conn, network_id, agent.id)
    return list(candidates)


def active_networks(conn: Connection, host: str) -> list[str]:
    """The networks the agent on `host` should serve; none if it is down."""
    agent = agent_for_host(conn, host)
    return hosted_networks(conn, agent.id) if is_active(agent) else []


def _dhcp_agent(conn: Connection, agent_id: str) -> Any:
    agent = conn.execute(select(agents).where(
        agents.c.id == agent_id)).first()
    if agent is None or agent.agent_type != AGENT_TYPE_DHCP:
        raise InvalidDHCPAgent(id=agent_id)
    return agent


def add_network(conn: Connection, agent_id: str, network_id: str) -> Any:
    """An admin binds a network to an agent by hand."""
    agent = _dhcp_agent(conn, agent_id)
    if not agent.admin_state_up:
        raise InvalidDHCPAgent(id=agent_id)
    if network_id in hosted_networks(conn, agent_id):
        raise NetworkHostedByDHCPAgent(network_id=network_id,
                                       agent_id=agent_id)
    _bind(conn, network_id, agent_id)
    return agent


def remove_network(conn: Connection, agent_id: str, network_id: str) -> Any:
    agent = _dhcp_agent(conn, agent_id)
    gone = conn.execute(delete(bindings).where(
        bindings.c.dhcp_agent_id == agent_id,
        bindings.c.network_id == network_id)).rowcount
    if not gone:
        raise NetworkNotHostedByDhcpAgent(network_id=network_id,
                                          agent_id=agent_id)
    return agent


def remove_networks_from_down_agents(conn: Connection) -> list[str]:
    """Failover: unbind agents silent for 2 x agent_down_time, reschedule.

    Returns the networks that lost an agent; the caller notifies the agents
    that were newly scheduled (hosting_agents tells which).
    """
    cutoff = utc_now() - datetime.timedelta(
        seconds=2 * CONF.agent_down_time)
    dead = select(agents.c.id).where(agents.c.heartbeat_timestamp < cutoff)
    networks = list(conn.execute(select(bindings.c.network_id).distinct()
                                 .where(bindings.c.dhcp_agent_id.in_(dead)))
                    .scalars())
    conn.execute(delete(bindings).where(bindings.c.dhcp_agent_id.in_(dead)))
    return networks
