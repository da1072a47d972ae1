"""Port status through provisioning blocks (Neutron's
neutron/db/provisioning_blocks, for ports).

A port is ACTIVE once nothing blocks it any more.  Its blocks:

* 'DHCP': it holds an address on a DHCP-enabled subnet and is not a
  network:* port -- completed by the DHCP agents' dhcp_ready_on_ports;
* 'L2': it is bound (binding:host_id) to a host where an L2 agent is
  alive -- completed by that agent's update_device_list devices_up.

Completing an entity removes its block and, when none is left, makes the
port ACTIVE (unless it is administratively down), whether or not that
entity had a block: a port bound where no L2 agent runs has only the DHCP
block, so dhcp_ready_on_ports alone makes it ACTIVE -- kaon's one-host
rule before L2 agents existed.

Race-free: the status is written under the port's row lock
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's writes are serialised
anyway), which every block change holds too (a port update writes the
row before its blocks change), so a completion never misses a block
added concurrently.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from kaon.db.models import (
    ip_allocations,
    ports,
    provisioning_blocks as blocks,
    subnets,
)
from kaon.plugin import common, l2_hosts
from kaon.plugin.port_security import trusted

DHCP_ENTITY = 'DHCP'
L2_ENTITY = 'L2'
ACTIVE = 'ACTIVE'
DOWN = 'DOWN'


def _served_by_dhcp(conn: Connection, port_id: str) -> bool:
    return conn.execute(select(ip_allocations.c.port_id).join(
        subnets, subnets.c.id == ip_allocations.c.subnet_id).where(
        ip_allocations.c.port_id == port_id,
        subnets.c.enable_dhcp.is_(True)).limit(1)).first() is not None


def _add(conn: Connection, port_id: str, entity: str) -> None:
    """A block its callers know the port lacks: a new port's, or the L2
    block just removed by a host change."""
    conn.execute(insert(blocks).values(port_id=port_id, entity=entity))


def _remove(conn: Connection, port_id: str, entity: str) -> None:
    conn.execute(delete(blocks).where(blocks.c.port_id == port_id,
                                      blocks.c.entity == entity))


def on_create(conn: Connection, port: dict[str, Any]) -> None:
    """The blocks of a new port (its addresses are allocated already)."""
    # DHCP agents do not report network infrastructure's ports ready.
    if not trusted(port) and _served_by_dhcp(conn, port['id']):
        _add(conn, port['id'], DHCP_ENTITY)
    host = port.get('binding:host_id')
    if host and l2_hosts.has_l2_agent(conn, host):
        _add(conn, port['id'], L2_ENTITY)


def on_host_change(conn: Connection, port_id: str, host: str) -> None:
    """A port bound anew (a DHCP port taken over by another agent, a VM
    moved): it waits for the new host's L2 agent, DOWN until then; a
    host without one keeps today's rule (its status stays)."""
    _remove(conn, port_id, L2_ENTITY)
    if host and l2_hosts.has_l2_agent(conn, host):
        _add(conn, port_id, L2_ENTITY)
        conn.execute(update(ports).where(
            ports.c.id == port_id, ports.c.status != DOWN).values(
            status=DOWN, updated_at=common.utcnow(),
            revision_number=ports.c.revision_number + 1))


def _locked(conn: Connection, port_ids: list[str]) -> list[Any]:
    """The ports' rows, locked for the rest of the transaction (in id
    order: two completions of the same ports never deadlock)."""
    rows: list[Any] = []
    for part in common.chunks(sorted(set(port_ids))):
        rows += conn.execute(select(ports.c.id, ports.c.status,
                                    ports.c.admin_state_up)
                             .where(ports.c.id.in_(part))
                             .order_by(ports.c.id).with_for_update()).all()
    return rows


def complete(conn: Connection, port_ids: Iterable[str], entity: str) -> None:
    """`entity` is done with these ports (unknown ids are ignored): each
    left with no block becomes ACTIVE, unless administratively down."""
    rows = _locked(conn, list(port_ids))
    for part in common.chunks([r.id for r in rows]):
        conn.execute(delete(blocks).where(blocks.c.port_id.in_(part),
                                          blocks.c.entity == entity))
    blocked = set()
    for part in common.chunks([r.id for r in rows]):
        blocked |= set(conn.execute(select(blocks.c.port_id).where(
            blocks.c.port_id.in_(part))).scalars())
    ready = [r.id for r in rows if r.id not in blocked
             and r.admin_state_up and r.status != ACTIVE]
    _set_status(conn, ready, ACTIVE)


def set_down(conn: Connection, port_id: str) -> None:
    """The L2 agent unplugged the port (update_device_down)."""
    _locked(conn, [port_id])
    _set_status(conn, [port_id], DOWN)


def _set_status(conn: Connection, port_ids: list[str], status: str) -> None:
    now = common.utcnow()
    for part in common.chunks(port_ids):
        conn.execute(update(ports).where(
            ports.c.id.in_(part), ports.c.status != status).values(
            status=status, updated_at=now,
            revision_number=ports.c.revision_number + 1))
