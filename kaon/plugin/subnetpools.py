"""Subnet pools: rows, prefixes, Neutron's bounds rules, visibility.

A pool's prefixes are stored compacted (overlapping and neighbouring
prefixes merged), as Neutron's SubnetPoolReader stores them.  Its prefix
lengths follow Neutron's rules: min_prefixlen defaults to 8 (IPv4) or 64
(IPv6), max_prefixlen to the address length, default_prefixlen to
min_prefixlen, and min <= default <= max <= address length.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.context import Context
from kaon.db.models import subnetpool_prefixes, subnetpools, subnets
from kaon.ipam import prefixes
from kaon.ipam.ranges import IPNetwork
from kaon.plugin import common
from kaon.plugin.query import ListQuery, select_page, where_clauses

_BOUNDS = ('min_prefixlen', 'max_prefixlen', 'default_prefixlen')


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own pools and shared ones."""
    if ctx.is_admin:
        return []
    return [or_(subnetpools.c.project_id == ctx.project_id,
                subnetpools.c.shared.is_(True))]


def get_row(conn: Connection, ctx: Context, pool_id: str,
            for_update: bool = False) -> Any:
    return common.visible_row(conn, subnetpools, 'subnetpool', pool_id,
                              visible(ctx), for_update)


def pool_prefixes(conn: Connection, pool_id: str) -> list[IPNetwork]:
    return prefixes.compact(conn.execute(
        select(subnetpool_prefixes.c.cidr).where(
            subnetpool_prefixes.c.subnetpool_id == pool_id)).scalars())


def _to_dicts(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    stored = common.rows_by(conn, subnetpool_prefixes, 'subnetpool_id', ids)
    tags = common.load_tags(conn, ids)
    result = []
    for row in rows:
        pool = common.row_to_dict(row)
        pool['prefixes'] = [str(n) for n in prefixes.compact(
            p.cidr for p in stored[row.id])]
        pool['tags'] = tags[row.id]
        result.append(pool)
    return result


def list_subnetpools(conn: Connection, ctx: Context,
                     query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(subnetpools, query.filters, {})
    return _to_dicts(conn, select_page(conn, subnetpools, query,
                                       clauses + visible(ctx)))


def get_subnetpool(conn: Connection, ctx: Context,
                   pool_id: str) -> dict[str, Any]:
    return _to_dicts(conn, [get_row(conn, ctx, pool_id)])[0]


def _read_prefixes(cidrs: list[str]) -> tuple[list[IPNetwork], int]:
    """The compacted prefixes and their one IP version."""
    if not cidrs:
        raise exc.EmptySubnetPoolPrefixList()
    versions = {ipaddress.ip_network(c).version for c in cidrs}
    if len(versions) > 1:
        raise exc.PrefixVersionMismatch()
    return prefixes.compact(cidrs), versions.pop()


def _bounds(pool: dict[str, Any], version: int) -> dict[str, int]:
    """min/max/default prefix lengths with Neutron's defaults and checks
    (SubnetPoolHelper's validate_* in their order and wording)."""
    top = prefixes.MAX_PREFIXLEN[version]
    low = pool.get('min_prefixlen')
    low = prefixes.DEFAULT_MIN_PREFIXLEN[version] if low is None else low
    high = top if pool.get('max_prefixlen') is None else pool['max_prefixlen']
    default = low if pool.get('default_prefixlen') is None \
        else pool['default_prefixlen']
    # (prefix type, its length, bound type, bound, broken), checked in
    # Neutron's order.
    for kind, length, base_kind, base, broken in (
            ('min_prefixlen', low, 'max_prefixlen', high, low > high),
            ('max_prefixlen', high, 'ip_version_max', top, high > top),
            ('default_prefixlen', default, 'min_prefixlen', low,
             default < low),
            ('default_prefixlen', default, 'max_prefixlen', high,
             default > high)):
        if broken:
            raise exc.IllegalSubnetPoolPrefixBounds(
                prefix_type=kind, prefixlen=length,
                base_prefix_type=base_kind, base_prefixlen=base)
    return {'min_prefixlen': low, 'max_prefixlen': high,
            'default_prefixlen': default}


def _check_one_default(conn: Connection, version: int,
                       pool_id: str | None = None) -> None:
    """One default pool per IP version (Neutron's InvalidInput)."""
    others = select(subnetpools.c.id).where(
        subnetpools.c.is_default.is_(True),
        subnetpools.c.ip_version == version)
    if pool_id is not None:
        others = others.where(subnetpools.c.id != pool_id)
    if conn.execute(others.limit(1)).first() is not None:
        raise exc.InvalidInput(
            error_message='A default subnetpool for this IP family has '
                          'already been set. Only one default may exist '
                          'per IP family')


def _store_prefixes(conn: Connection, pool_id: str,
                    nets: list[IPNetwork]) -> None:
    conn.execute(delete(subnetpool_prefixes).where(
        subnetpool_prefixes.c.subnetpool_id == pool_id))
    conn.execute(insert(subnetpool_prefixes), [
        {'subnetpool_id': pool_id, 'cidr': str(n)} for n in nets])


def create_subnetpools(conn: Connection, ctx: Context,
                       bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [get_subnetpool(conn, ctx, _create(conn, body))
            for body in bodies]


def _create(conn: Connection, body: dict[str, Any]) -> str:
    nets, version = _read_prefixes(body['prefixes'])
    if body['is_default']:
        _check_one_default(conn, version)
    pool_id = common.new_id()
    values = common.column_values(subnetpools, body)
    values.update(id=pool_id, ip_version=version, **_bounds(body, version),
                  **common.standard_attrs(body))
    conn.execute(insert(subnetpools), values)
    _store_prefixes(conn, pool_id, nets)
    common.set_tags(conn, pool_id, body.get('tags', ()), new=True)
    return pool_id


def update_subnetpool(conn: Connection, ctx: Context, pool_id: str,
                      body: dict[str, Any]) -> dict[str, Any]:
    """Neutron's update: the new prefixes must hold the old ones, and the
    bounds are checked again as a whole.  Returns the pool as it was."""
    row = get_row(conn, ctx, pool_id, for_update=True)
    before = _to_dicts(conn, [row])[0]
    if 'prefixes' in body:
        nets, version = _read_prefixes(body['prefixes'])
        old = pool_prefixes(conn, pool_id)
        if version != row.ip_version or not prefixes.covers(nets, old):
            raise exc.IllegalSubnetPoolPrefixUpdate(
                msg='Existing prefixes must be a subset of the new prefixes')
        _store_prefixes(conn, pool_id, nets)
    merged = {k: body.get(k, getattr(row, k)) for k in _BOUNDS}
    if body.get('is_default') and not row.is_default:
        _check_one_default(conn, row.ip_version, pool_id)
    if 'tags' in body:
        common.set_tags(conn, pool_id, body['tags'])
    values = common.column_values(subnetpools, body)
    values.update(_bounds(merged, row.ip_version), **common.bumped(row))
    conn.execute(update(subnetpools).where(subnetpools.c.id == pool_id)
                 .values(**values))
    return before


def delete_subnetpool(conn: Connection, ctx: Context,
                      pool_id: str) -> dict[str, Any]:
    """Refused while a subnet holds a prefix of the pool (the row lock
    keeps an allocation from racing in)."""
    row = get_row(conn, ctx, pool_id, for_update=True)
    pool = _to_dicts(conn, [row])[0]
    in_use = conn.execute(select(subnets.c.id).where(
        subnets.c.subnetpool_id == pool_id).limit(1)).first()
    if in_use is not None:
        raise exc.SubnetPoolDeleteError(
            reason='Subnet pool has existing allocations')
    conn.execute(delete(subnetpool_prefixes).where(
        subnetpool_prefixes.c.subnetpool_id == pool_id))
    common.drop_tags(conn, [pool_id])
    conn.execute(delete(subnetpools).where(subnetpools.c.id == pool_id))
    return pool
