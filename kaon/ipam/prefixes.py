"""Subnet pool prefix arithmetic (Neutron's SubnetAllocator), pure.

A pool is a set of prefixes of one IP version; its subnets are carved from
what no subnet of the pool holds yet.  As Neutron does, an "any subnet of
length /N" request takes the first /N of the smallest free block that can
hold one (free blocks sorted longest prefix first), which keeps big blocks
whole for big requests; a specific CIDR is granted if one free block
contains it.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from kaon.ipam.ranges import IPNetwork

# Neutron's SubnetPoolHelper: per IP version, the widest prefix a pool
# allows by default (its default min_prefixlen) and the address length.
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}
MAX_PREFIXLEN = {4: 32, 6: 128}


def _collapse(nets: Iterable[IPNetwork]) -> list[IPNetwork]:
    """Overlapping and neighbouring blocks merged, per IP version."""
    nets = list(nets)
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    merged: list[IPNetwork] = [*ipaddress.collapse_addresses(v4),
                               *ipaddress.collapse_addresses(v6)]
    return merged


def compact(cidrs: Iterable[str]) -> list[IPNetwork]:
    """The prefixes with overlaps and neighbours merged, in address order
    (Neutron compacts a pool's prefix list the same way)."""
    return _collapse(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _inside(inner: IPNetwork, outer: IPNetwork) -> bool:
    if isinstance(inner, ipaddress.IPv4Network):
        return isinstance(outer, ipaddress.IPv4Network) and \
            inner.subnet_of(outer)
    return isinstance(outer, ipaddress.IPv6Network) and \
        inner.subnet_of(outer)


def covers(outer: list[IPNetwork], inner: list[IPNetwork]) -> bool:
    """Does the union of `outer` (compacted) hold every address of
    `inner`?  A CIDR inside a compacted union lies inside one of its
    blocks: two blocks that together make a CIDR would have been merged."""
    return all(any(_inside(i, o) for o in outer) for i in inner)


def _without(block: IPNetwork, used: IPNetwork) -> list[IPNetwork]:
    if not block.overlaps(used):
        return [block]
    if _inside(block, used):
        return []
    if isinstance(block, ipaddress.IPv4Network):
        assert isinstance(used, ipaddress.IPv4Network)
        return list(block.address_exclude(used))
    assert isinstance(used, ipaddress.IPv6Network)
    return list(block.address_exclude(used))


def available(pool: list[IPNetwork],
              allocated: Iterable[str]) -> list[IPNetwork]:
    """The pool's free blocks, smallest first (Neutron's order)."""
    free = list(pool)
    for used in compact(allocated):
        free = [rest for block in free for rest in _without(block, used)]
    return sorted(_collapse(free),
                  key=lambda n: (-n.prefixlen, int(n.network_address)))


def first_free(pool: list[IPNetwork], allocated: Iterable[str],
               prefixlen: int) -> IPNetwork | None:
    """The first /prefixlen of the smallest free block that holds one."""
    for block in available(pool, allocated):
        if block.prefixlen <= prefixlen:
            return ipaddress.ip_network(
                f'{block.network_address}/{prefixlen}')
    return None


def is_free(pool: list[IPNetwork], allocated: Iterable[str],
            cidr: IPNetwork) -> bool:
    return covers(available(pool, allocated), [cidr])
