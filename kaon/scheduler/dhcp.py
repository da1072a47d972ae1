"""Which DHCP agents serve which network (Neutron's WeightScheduler).

A network with a DHCP-enabled subnet is hosted by up to
`dhcp_agents_per_network` alive, admin-up DHCP agents, the least loaded
first.  Load is the number of networks an agent hosts, counted from the
bindings themselves rather than from the last heartbeat as Neutron does:
scheduling 100 networks between two heartbeats then still spreads them.

The lowest layer of scheduling: placement and the binding table's SQL, on
the caller's connection.  It knows no request context and raises nothing
of its own; what may be asked, by whom, is kaon.plugin.dhcp_agents'.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement

from kaon.conf import CONF
from kaon.constants import AGENT_TYPE_DHCP
from kaon.db.models import agents, network_dhcp_agents as bindings, subnets
from kaon.scheduler.liveness import alive_since, dead_before

AgentRow = Row[Any]


def hosting_agents(conn: Connection,
                   network_ids: list[str]) -> list[AgentRow]:
    """The agents bound to any of the networks, each once, in binding
    order (an agent's first binding among them decides its place)."""
    rows = conn.execute(select(agents).join(
        bindings, bindings.c.dhcp_agent_id == agents.c.id).where(
        bindings.c.network_id.in_(network_ids))
        .order_by(bindings.c.binding_index)).all()
    first: dict[str, AgentRow] = {}
    for row in rows:
        first.setdefault(row.id, row)
    return list(first.values())


def hosted_networks(conn: Connection, agent_id: str) -> list[str]:
    return list(conn.execute(select(bindings.c.network_id).where(
        bindings.c.dhcp_agent_id == agent_id)).scalars())


def hosted_network_counts(conn: Connection) -> dict[str, int]:
    """Networks per DHCP agent, from the bindings (the load)."""
    rows = conn.execute(select(bindings.c.dhcp_agent_id, func.count())
                        .group_by(bindings.c.dhcp_agent_id))
    return {agent_id: count for agent_id, count in rows}


def has_dhcp_subnet(conn: Connection, network_id: str) -> bool:
    return conn.execute(select(subnets.c.id).where(
        subnets.c.network_id == network_id,
        subnets.c.enable_dhcp.is_(True)).limit(1)).first() is not None


def _active() -> list[ColumnElement[bool]]:
    """The clauses of an agent that may be given networks: a DHCP agent,
    admin-up, alive."""
    return [agents.c.agent_type == AGENT_TYPE_DHCP,
            agents.c.admin_state_up.is_(True),
            agents.c.heartbeat_timestamp >= alive_since()]


def _eligible(conn: Connection) -> list[AgentRow]:
    """Alive, admin-up DHCP agents, least loaded first."""
    rows = conn.execute(select(agents).where(*_active())).all()
    load = hosted_network_counts(conn)
    return sorted(rows, key=lambda r: (load.get(r.id, 0), r.host))


def could_add_agent(conn: Connection, hosting: set[str]) -> bool:
    """Is there an alive, admin-up DHCP agent not hosting the network yet?
    (A read: the notifier asks it before it dares a write transaction.)"""
    return conn.execute(select(agents.c.id).where(
        *_active(), agents.c.id.not_in(hosting)).limit(1)).first() \
        is not None


def bind(conn: Connection, network_id: str, agent_id: str) -> None:
    index = conn.execute(select(func.max(bindings.c.binding_index)).where(
        bindings.c.network_id == network_id)).scalar() or 0
    conn.execute(insert(bindings).values(
        network_id=network_id, dhcp_agent_id=agent_id,
        binding_index=index + 1))


def unbind(conn: Connection, network_id: str, agent_id: str) -> bool:
    """Remove one binding; False if there was none."""
    gone = conn.execute(delete(bindings).where(
        bindings.c.dhcp_agent_id == agent_id,
        bindings.c.network_id == network_id)).rowcount
    return bool(gone)


def schedule_network(conn: Connection, network_id: str) -> list[AgentRow]:
    """Bind the network to enough agents; returns the newly bound ones."""
    if not has_dhcp_subnet(conn, network_id):
        return []
    hosting = {a.id for a in hosting_agents(conn, [network_id])}
    needed = CONF.dhcp_agents_per_network - len(hosting)
    if needed <= 0:
        return []
    chosen = [a for a in _eligible(conn) if a.id not in hosting][:needed]
    for agent in chosen:
        bind(conn, network_id, agent.id)
    return chosen


def active_agent_on_host(conn: Connection, host: str) -> AgentRow | None:
    """The DHCP agent on `host` if it may serve networks, else None."""
    return conn.execute(select(agents).where(
        *_active(), agents.c.host == host)).first()


def auto_schedule_networks(conn: Connection, host: str) -> list[str]:
    """Give the asking agent every DHCP network still short of agents."""
    agent = active_agent_on_host(conn, host)
    if agent is None:
        return []
    counts = select(bindings.c.network_id, func.count().label('n')) \
        .group_by(bindings.c.network_id).subquery()
    mine = select(bindings.c.network_id).where(
        bindings.c.dhcp_agent_id == agent.id)
    candidates = list(conn.execute(
        select(subnets.c.network_id).distinct()
        .outerjoin(counts, counts.c.network_id == subnets.c.network_id)
        .where(subnets.c.enable_dhcp.is_(True),
               func.coalesce(counts.c.n, 0) < CONF.dhcp_agents_per_network,
               subnets.c.network_id.not_in(mine))).scalars())
    for network_id in candidates:
        bind(conn, network_id, agent.id)
    return candidates


def active_networks(conn: Connection, host: str) -> list[str]:
    """The networks the agent on `host` should serve; none if it is down."""
    agent = active_agent_on_host(conn, host)
    return hosted_networks(conn, agent.id) if agent is not None else []


def remove_networks_from_down_agents(conn: Connection) -> list[str]:
    """Failover: unbind agents silent for 2 x agent_down_time.

    Returns the networks that lost an agent, for the caller to schedule
    again (schedule_network says which agents are new).
    """
    dead = select(agents.c.id).where(
        agents.c.heartbeat_timestamp < dead_before())
    networks = list(conn.execute(select(bindings.c.network_id).distinct()
                                 .where(bindings.c.dhcp_agent_id.in_(dead)))
                    .scalars())
    conn.execute(delete(bindings).where(bindings.c.dhcp_agent_id.in_(dead)))
    return networks
