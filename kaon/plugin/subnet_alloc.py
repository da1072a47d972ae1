"""A new subnet's CIDR from its subnet pool (Neutron's subnet_allocation).

Called by subnet creation, with the network row already locked, before the
subnet's own checks.  The pool's row is locked for the rest of the
transaction, so allocations from one pool take turns and each sees the
subnets the previous ones made: two concurrent requests never get the same
prefix (on PostgreSQL the second waits on the row lock and then reads the
first's committed subnet; SQLite writes one transaction at a time).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.context import Context
from kaon.db.models import subnets
from kaon.ipam import prefixes
from kaon.plugin import subnetpools


def _bad(msg: str) -> exc.BadRequest:
    return exc.BadRequest(resource='subnets', msg=msg)


def allocate_cidr(conn: Connection, ctx: Context,
                  body: dict[str, Any]) -> dict[str, Any]:
    """The body with its `cidr`: given, or allocated from its pool.

    Neutron's rules (_create_subnet_precommit, SubnetAllocator): cidr and
    prefixlen exclude each other; no pool needs a cidr; the pool's IP
    version must be the subnet's; the prefix length (the cidr's, prefixlen
    or the pool's default) must be within the pool's bounds; a given cidr
    must be free in the pool, else the first free prefix is taken.
    """
    cidr, prefixlen = body.get('cidr'), body.get('prefixlen')
    if cidr is not None and prefixlen is not None:
        raise _bad('cidr and prefixlen must not be supplied together')
    if body.get('subnetpool_id') is None:
        if cidr is None:
            raise _bad('a subnetpool must be specified in the absence of a '
                       'cidr')
        return body
    pool = subnetpools.get_row(conn, ctx, body['subnetpool_id'],
                               for_update=True)
    if body['ip_version'] != pool.ip_version:
        raise _bad(f"Cannot allocate IPv{body['ip_version']} subnet from "
                   f'IPv{pool.ip_version} subnet pool')
    if cidr is None and body.get('allocation_pools') is not None:
        raise _bad('allocation_pools allowed only for specific subnet '
                   'requests.')
    wanted = ipaddress.ip_network(cidr) if cidr is not None else None
    length = wanted.prefixlen if wanted is not None else \
        pool.default_prefixlen if prefixlen is None else prefixlen
    _check_length(pool, length)
    allocated = list(conn.execute(select(subnets.c.cidr).where(
        subnets.c.subnetpool_id == pool.id)).scalars())
    _check_quota(conn, pool, body['project_id'], length)
    space = subnetpools.pool_prefixes(conn, pool.id)
    if wanted is not None:
        if not prefixes.is_free(space, allocated, wanted):
            raise exc.SubnetAllocationError(
                reason='Cannot allocate requested subnet from the available '
                       'set of prefixes')
        return body
    found = prefixes.first_free(space, allocated, length)
    if found is None:
        raise exc.SubnetAllocationError(
            reason=f'Insufficient prefix space to allocate subnet size '
                   f'/{length}')
    return dict(body, cidr=str(found))


def _check_length(pool: Any, length: int) -> None:
    if length > pool.max_prefixlen:
        raise exc.MaxPrefixSubnetAllocationError(
            prefixlen=length, max_prefixlen=pool.max_prefixlen)
    if length < pool.min_prefixlen:
        raise exc.MinPrefixSubnetAllocationError(
            prefixlen=length, min_prefixlen=pool.min_prefixlen)


def _check_quota(conn: Connection, pool: Any, project_id: str,
                 length: int) -> None:
    """default_quota: how many addresses (IPv4, units of /32) or /64s
    (IPv6) one project may hold in the pool (Neutron's
    _check_subnetpool_project_quota; 0 or null is no limit)."""
    if not pool.default_quota:
        return
    unit = 32 if pool.ip_version == 4 else 64
    held = conn.execute(select(subnets.c.cidr).where(
        subnets.c.subnetpool_id == pool.id,
        subnets.c.project_id == project_id)).scalars()
    used = sum(2 ** (unit - ipaddress.ip_network(c).prefixlen) for c in held)
    if used + 2 ** (unit - length) > pool.default_quota:
        raise exc.SubnetPoolQuotaExceeded()
