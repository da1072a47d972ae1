"""The database side of IPAM: free ranges in, allocations out.

Each subnet's free pool addresses are stored as ranges (Neutron's old
IPAvailabilityRange idea).  Taking "any" address reads and shrinks the
lowest range; taking a given address splits the range holding it; releasing
puts the address back, merged with its neighbours.  Every step is an
indexed lookup, so a /8 holding 100,000 ports allocates as fast as a /24.

Concurrency: the range row is locked (FOR UPDATE on PostgreSQL, the single
writer on SQLite) and the (subnet_id, ip_address) primary key of
ipallocations makes a duplicate impossible; a transaction that still loses a
race is retried by the caller (kaon.db.engine).
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from kaon.db.models import availability_ranges as ar
from kaon.db.models import ip_allocations, allocation_pools
from kaon.exceptions import RetryRequest
from kaon.ipam.ranges import Range, ip_key, key_value, subtract, to_ip

# PostgreSQL in READ COMMITTED skips a locked row that was deleted while we
# waited; a fresh statement sees the next range, so look a few times.
_LOOKUPS = 3


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
    for _ in range(_LOOKUPS):
        row = conn.execute(
            select(ar.c.first_key, ar.c.last_key)
            .where(ar.c.subnet_id == subnet_id)
            .order_by(ar.c.first_key).limit(1).with_for_update()).first()
        if row is None:
            continue
        first, last = key_value(row.first_key), key_value(row.last_key)
        where = and_(ar.c.subnet_id == subnet_id,
                     ar.c.first_key == row.first_key)
        if first == last:
            done = conn.execute(delete(ar).where(where)).rowcount
        else:
            done = conn.execute(update(ar).where(where).values(
                first_key=ip_key(first + 1))).rowcount
        if done != 1:
            raise RetryRequest()
        return to_ip(first, version)
    return None


def take_specific(conn: Connection, subnet_id: str, address: str) -> None:
    """Remove `address` from the free ranges if it is in one."""
    value = int(ipaddress.ip_address(address))
    key = ip_key(value)
    row = conn.execute(
        select(ar.c.first_key, ar.c.last_key)
        .where(ar.c.subnet_id == subnet_id, ar.c.first_key <= key)
        .order_by(ar.c.first_key.desc()).limit(1).with_for_update()).first()
    if row is None or key_value(row.last_key) < value:
        return  # outside the pools (allowed) or already taken
    conn.execute(delete(ar).where(ar.c.subnet_id == subnet_id,
                                  ar.c.first_key == row.first_key))
    pieces = subtract([Range(key_value(row.first_key),
                             key_value(row.last_key))], [value])
    store_ranges(conn, subnet_id, pieces)


def give_back(conn: Connection, subnet_id: str, address: str) -> None:
    """Return a released address to the free ranges if a pool holds it."""
    value = int(ipaddress.ip_address(address))
    if not _in_pools(conn, subnet_id, address):
        return
    first = last = value
    left = conn.execute(select(ar.c.first_key).where(
        ar.c.subnet_id == subnet_id,
        ar.c.last_key == ip_key(value - 1))).scalar()
    if left is not None:
        first = key_value(left)
        conn.execute(delete(ar).where(ar.c.subnet_id == subnet_id,
                                      ar.c.first_key == left))
    right = conn.execute(select(ar.c.last_key).where(
        ar.c.subnet_id == subnet_id,
        ar.c.first_key == ip_key(value + 1))).scalar()
    if right is not None:
        last = key_value(right)
        conn.execute(delete(ar).where(ar.c.subnet_id == subnet_id,
                                      ar.c.first_key == ip_key(value + 1)))
    store_ranges(conn, subnet_id, [Range(first, last)])


def _in_pools(conn: Connection, subnet_id: str, address: str) -> bool:
    value = int(ipaddress.ip_address(address))
    pools = conn.execute(select(allocation_pools.c.first_ip,
                                allocation_pools.c.last_ip).where(
        allocation_pools.c.subnet_id == subnet_id)).all()
    return any(int(ipaddress.ip_address(p.first_ip)) <= value
               <= int(ipaddress.ip_address(p.last_ip)) for p in pools)
