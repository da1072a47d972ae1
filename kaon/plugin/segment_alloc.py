"""Taking and giving back VXLAN VNIs and VLAN ids: ML2's SegmentTypeDriver
over the allocation tables (kaon.db.models vxlan_allocations,
vlan_allocations).

A pool is one table narrowed to a scope (a VLAN pool: one physical network,
or all).  Race-freedom comes from the rows themselves: a free id is taken
with a row lock that concurrent takers skip (PostgreSQL's FOR UPDATE SKIP
LOCKED: sixteen creates at once take sixteen ids without waiting on each
other; SQLite has one writer at a time anyway), and an id outside the
ranges is an INSERT whose loser gets a unique violation, retried by
Database.write into a clean "in use".
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Iterator

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.engine import Connection

from kaon.db.models import vlan_allocations, vxlan_allocations
from kaon.exceptions import RetryRequest

Key = tuple[Any, ...]
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class Pool:
    table: Table
    keys: tuple[str, ...]               # the primary key, in key order
    scope: tuple[tuple[str, Any], ...] = ()

    def _clauses(self) -> list[Any]:
        return [self.table.c[name] == value for name, value in self.scope]

    def _matches(self, key: Key) -> list[Any]:
        return [self.table.c[name] == value
                for name, value in zip(self.keys, key, strict=True)]


VXLAN = Pool(vxlan_allocations, ('vxlan_vni',))
VLAN = Pool(vlan_allocations, ('physical_network', 'vlan_id'))


def vlan_pool(physical_network: str | None) -> Pool:
    """The VLAN ids of one physical network, or of all (None)."""
    if physical_network is None:
        return VLAN
    return dataclasses.replace(
        VLAN, scope=(('physical_network', physical_network),))


def _free_key(conn: Connection, pool: Pool, skip_locked: bool) -> Key | None:
    columns = [pool.table.c[name] for name in pool.keys]
    row = conn.execute(
        select(*columns)
        .where(pool.table.c.allocated.is_(False), *pool._clauses())
        .order_by(*columns).limit(1)
        .with_for_update(skip_locked=skip_locked)).first()
    return None if row is None else tuple(row)


def take_free(conn: Connection, pool: Pool) -> Key | None:
    """The lowest free id of the pool, now allocated; None when every id is
    taken.  Rows other transactions hold are skipped; only when all free
    rows are held does it wait for them (one of those may roll back), so an
    exhausted pool is told from a busy one."""
    key = _free_key(conn, pool, True) or _free_key(conn, pool, False)
    if key is None:
        return None
    taken = conn.execute(update(pool.table).where(
        *pool._matches(key), pool.table.c.allocated.is_(False))
        .values(allocated=True)).rowcount
    if not taken:       # taken under us between the lock wait and now
        raise RetryRequest()
    return key


def take(conn: Connection, pool: Pool, key: Key) -> bool:
    """Allocate the given id (ML2's allocate_fully_specified_segment):
    False if it is in use.  An id outside the ranges gets a row of its
    own, allocated, deleted again on release."""
    matches = pool._matches(key)
    if conn.execute(update(pool.table).where(
            *matches, pool.table.c.allocated.is_(False))
            .values(allocated=True)).rowcount:
        return True
    if conn.execute(select(pool.table.c.allocated).where(
            *matches)).first() is not None:
        return False
    conn.execute(insert(pool.table).values(
        allocated=True, **dict(zip(pool.keys, key, strict=True))))
    return True


def release(conn: Connection, pool: Pool, key: Key, in_range: bool) -> None:
    """Give an id back: free again inside the ranges, gone outside them
    (ML2's release_segment)."""
    matches = pool._matches(key)
    if in_range:
        conn.execute(update(pool.table).where(*matches)
                     .values(allocated=False))
    else:
        conn.execute(delete(pool.table).where(*matches))


def _chunks(keys: Iterable[Key]) -> Iterator[list[Key]]:
    iterator = iter(keys)
    while chunk := list(itertools.islice(iterator, _CHUNK)):
        yield chunk


def _key_in(columns: list[Any], keys: list[Key]) -> Any:
    if len(columns) == 1:
        return columns[0].in_([key[0] for key in keys])
    return tuple_(*columns).in_(keys)


def sync(conn: Connection, pool: Pool, wanted: set[Key]) -> None:
    """Make the table match the configured ranges (ML2's _sync_allocations):
    a free row for each id of the ranges, free rows outside them removed,
    allocated rows kept wherever they are."""
    columns = [pool.table.c[name] for name in pool.keys]
    rows = conn.execute(select(*columns, pool.table.c.allocated)).all()
    existing = {tuple(row[:-1]) for row in rows}
    stale = [tuple(row[:-1]) for row in rows
             if not row.allocated and tuple(row[:-1]) not in wanted]
    for chunk in _chunks(stale):
        conn.execute(delete(pool.table).where(
            _key_in(columns, chunk), pool.table.c.allocated.is_(False)))
    for chunk in _chunks(sorted(wanted - existing)):
        conn.execute(insert(pool.table), [
            {**dict(zip(pool.keys, key, strict=True)), 'allocated': False}
            for key in chunk])
