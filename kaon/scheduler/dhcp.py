"""Which DHCP agents serve which network (Neutron's WeightScheduler).

A network with a DHCP-enabled subnet is hosted by up to
`dhcp_agents_per_network` alive, admin-up DHCP agents, the least loaded
first.  Load is the number of networks an agent hosts, counted from the
bindings themselves rather than from the last heartbeat as Neutron does:
scheduling 100 networks between two heartbeats then still spreads them.

The lowest layer of scheduling: placement and the binding table's SQL, on
the caller's connection.  It knows no request context and raises nothing
of its own; what may be asked, by whom, is kaon.plugin.dhcp_agents'.

A network taken off an agent (unbind: the admin's remove, or failover)
keeps that agent's DHCP port, marked reserved (Neutron's
remove_network_from_dhcp_agent): the next agent to serve the network takes
it over (kaon.plugin.dhcp.update_dhcp_port), so the DHCP server keeps its
address and MAC, the ones clients renew against and use as DNS server.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement

from kaon.conf import CONF
from kaon.constants import (
    AGENT_TYPE_DHCP,
    DEVICE_ID_RESERVED_DHCP_PORT,
    DEVICE_OWNER_DHCP,
    dhcp_device_id,
)
from kaon.db.models import (
    agents,
    network_dhcp_agents as bindings,
    ports,
    subnets,
)
from kaon.scheduler.liveness import alive_since, dead_before, utc_now

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


def unbind(conn: Connection, network_id: str, agent: AgentRow) -> bool:
    """Remove one binding, reserving the agent's DHCP port on the network;
    False if there was no binding (and then nothing changed)."""
    gone = conn.execute(delete(bindings).where(
        bindings.c.dhcp_agent_id == agent.id,
        bindings.c.network_id == network_id)).rowcount
    if gone:
        _reserve_dhcp_port(conn, network_id, agent.host)
    return bool(gone)


def _reserve_dhcp_port(conn: Connection, network_id: str, host: str) -> None:
    """The agent's port on the network becomes the reserved one, as
    Neutron's update_port does it: the port keeps its id, addresses, MAC
    and binding (the host it was on, until an agent takes it over), and
    counts as changed (revision, updated_at).  The agent, if alive, is
    told to drop the network and releases its port by its own device id:
    no port has that id any more, so the reserved one stays."""
    conn.execute(update(ports).where(
        ports.c.network_id == network_id,
        ports.c.device_owner == DEVICE_OWNER_DHCP,
        ports.c.device_id == dhcp_device_id(host, network_id)).values(
        device_id=DEVICE_ID_RESERVED_DHCP_PORT,
        revision_number=ports.c.revision_number + 1,
        updated_at=utc_now().replace(microsecond=0)))


def hosts_network(conn: Connection, host: str, network_id: str) -> bool:
    """Is the network bound to the DHCP agent on `host`?"""
    return conn.execute(select(bindings.c.network_id).join(
        agents, agents.c.id == bindings.c.dhcp_agent_id).where(
        agents.c.agent_type == AGENT_TYPE_DHCP, agents.c.host == host,
        bindings.c.network_id == network_id)).first() is not None


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
    """Failover: unbind the DHCP agents silent for
    liveness.failover_limit(), reserving their DHCP ports.

    Returns the networks that lost an agent, for the caller to schedule
    again (schedule_network says which agents are new).  As Neutron's,
    nothing moves while no DHCP agent is alive to take the networks: the
    dead agents keep them (and their ports), and one that comes back
    serves them again as it left them.
    """
    if not conn.execute(select(agents.c.id).where(*_active())
                        .limit(1)).first():
        return []
    dead = conn.execute(select(agents).join(
        bindings, bindings.c.dhcp_agent_id == agents.c.id).where(
        agents.c.heartbeat_timestamp < dead_before()).distinct()).all()
    networks: dict[str, None] = {}
    for agent in dead:
        for network_id in hosted_networks(conn, agent.id):
            unbind(conn, network_id, agent)
            networks[network_id] = None
    return list(networks)
