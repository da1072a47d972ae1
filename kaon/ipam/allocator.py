"""The database side of IPAM: free ranges in, allocations out.

Each subnet's free pool addresses are stored as ranges (Neutron's old
IPAvailabilityRange idea).  Taking "any" address reads and shrinks the
lowest range; taking a given address splits the range holding it; releasing
puts the address back, merged with its neighbours.  Every step is an
indexed lookup, so a /8 holding 100,000 ports allocates as fast as a /24.

Concurrency: every change to a subnet's ranges first locks the subnet's row
(FOR UPDATE on PostgreSQL; SQLite has a single writer anyway), so two
transactions never edit the same ranges at once: concurrent releases merging
the same neighbour would otherwise leave overlapping ranges.  The
(subnet_id, ip_address) primary key of ipallocations makes a duplicate IP
impossible, and a transaction that still loses a race is retried by the
caller (kaon.db.engine).
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from kaon.db.models import (
    allocation_pools,
    availability_ranges as ar,
    ip_allocations,
    subnets,
)
from kaon.exceptions import RetryRequest
from kaon.ipam.ranges import Range, ip_key, key_value, subtract, to_ip


def _lock_ranges(conn: Connection, subnet_id: str) -> None:
    conn.execute(select(subnets.c.id).where(subnets.c.id == subnet_id)
                 .with_for_update())


def _delete_range(conn: Connection, subnet_id: str, first_key: str) -> None:
    gone = conn.execute(delete(ar).where(
        ar.c.subnet_id == subnet_id, ar.c.first_key == first_key)).rowcount
    if gone != 1:
        raise RetryRequest()


def store_ranges(conn: Connection, subnet_id: str,
                 ranges: Iterable[Range]) -> None:
    rows = [{'subnet_id': subnet_id, 'first_key': ip_key(r.first),
             'last_key': ip_key(r.last)} for r in ranges]
    if rows:
        conn.execute(insert(ar), rows)


def rebuild_ranges(conn: Connection, subnet_id: str,
                   pools: list[Range]) -> None:
    """Free ranges = pools minus allocations (on pool updates only)."""
    conn.execute(delete(ar).where(ar.c.subnet_id == subnet_id))
    taken = conn.execute(select(ip_allocations.c.ip_key).where(
        ip_allocations.c.subnet_id == subnet_id)).scalars()
    store_ranges(conn, subnet_id, subtract(pools, map(key_value, taken)))


def take_any(conn: Connection, subnet_id: str, version: int) -> str | None:
    """The lowest free pool address of the subnet, or None if exhausted."""
    _lock_ranges(conn, subnet_id)
    row = conn.execute(
        select(ar.c.first_key, ar.c.last_key)
        .where(ar.c.subnet_id == subnet_id)
        .order_by(ar.c.first_key).limit(1)).first()
    if row is None:
        return None
    first, last = key_value(row.first_key), key_value(row.last_key)
    if first == last:
        _delete_range(conn, subnet_id, row.first_key)
    else:
        conn.execute(update(ar).where(
            ar.c.subnet_id == subnet_id, ar.c.first_key == row.first_key)
            .values(first_key=ip_key(first + 1)))
    return to_ip(first, version)


def take_specific(conn: Connection, subnet_id: str, address: str) -> None:
    """Remove `address` from the free ranges if it is in one."""
    value = int(ipaddress.ip_address(address))
    key = ip_key(value)
    _lock_ranges(conn, subnet_id)
    row = conn.execute(
        select(ar.c.first_key, ar.c.last_key)
        .where(ar.c.subnet_id == subnet_id, ar.c.first_key <= key)
        .order_by(ar.c.first_key.desc()).limit(1)).first()
    if row is None or key_value(row.last_key) < value:
        return  # outside the pools (allowed) or already taken
    _delete_range(conn, subnet_id, row.first_key)
    pieces = subtract([Range(key_value(row.first_key),
                             key_value(row.last_key))], [value])
    store_ranges(conn, subnet_id, pieces)


def give_back(conn: Connection, subnet_id: str, address: str) -> None:
    """Return a released address to the free ranges if a pool holds it."""
    value = int(ipaddress.ip_address(address))
    if not _in_pools(conn, subnet_id, address):
        return
    _lock_ranges(conn, subnet_id)
    first = last = value
    left = conn.execute(select(ar.c.first_key).where(
        ar.c.subnet_id == subnet_id,
        ar.c.last_key == ip_key(value - 1))).scalar()
    if left is not None:
        first = key_value(left)
        _delete_range(conn, subnet_id, left)
    right = conn.execute(select(ar.c.last_key).where(
        ar.c.subnet_id == subnet_id,
        ar.c.first_key == ip_key(value + 1))).scalar()
    if right is not None:
        last = key_value(right)
        _delete_range(conn, subnet_id, ip_key(value + 1))
    store_ranges(conn, subnet_id, [Range(first, last)])


def stored_pools(conn: Connection, subnet_id: str) -> list[Range]:
    """The subnet's allocation pools as stored, in order."""
    rows = conn.execute(select(allocation_pools.c.first_ip,
                               allocation_pools.c.last_ip).where(
        allocation_pools.c.subnet_id == subnet_id)).all()
    return sorted(Range(int(ipaddress.ip_address(p.first_ip)),
                        int(ipaddress.ip_address(p.last_ip))) for p in rows)


def _in_pools(conn: Connection, subnet_id: str, address: str) -> bool:
    value = int(ipaddress.ip_address(address))
    return any(r.first <= value <= r.last
               for r in stored_pools(conn, subnet_id))
