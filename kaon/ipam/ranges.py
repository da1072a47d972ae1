"""Address arithmetic for IPAM: pools, ranges and keys.  No database here.

Everything works on integer ranges, so the cost of a question depends on
the number of pools and allocations involved, never on the subnet's size: a
/8 or a /64 is as cheap as a /24.
"""
from __future__ import annotations

import ipaddress
import itertools
from typing import Iterable, Mapping, NamedTuple, Sequence

from kaon import exceptions as exc

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Range(NamedTuple):
    first: int
    last: int


def ip_key(address: str | int) -> str:
    """A fixed-width hex key that sorts like the address (v4 and v6)."""
    value = address if isinstance(address, int) else int(
        ipaddress.ip_address(address))
    return format(value, '032x')


def key_value(key: str) -> int:
    return int(key, 16)


def to_ip(value: int, version: int) -> str:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return str(cls(value))


def host_bounds(net: IPNetwork) -> Range:
    """The addresses a host may have: IPv4 loses network and broadcast.

    IPv6 has no broadcast; its first address is the subnet-router anycast
    address, which Neutron uses as the default gateway, so pools start one
    above it as well.
    """
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen < 31:
        return Range(first + 1, last - 1)
    if net.version == 6 and net.prefixlen < 127:
        return Range(first + 1, last)
    return Range(first, last)


def default_gateway(net: IPNetwork) -> str | None:
    if net.version == 6:
        return str(net.network_address)
    bounds = host_bounds(net)
    return to_ip(bounds.first, 4) if bounds.first <= bounds.last else None


def subtract(ranges: Iterable[Range], taken: Iterable[int]) -> list[Range]:
    """Ranges minus single addresses; both may come in any order."""
    result: list[Range] = []
    holes = sorted(set(taken))
    for rng in sorted(ranges):
        start = rng.first
        for hole in holes:
            if hole < start or hole > rng.last:
                continue
            if hole > start:
                result.append(Range(start, hole - 1))
            start = hole + 1
        if start <= rng.last:
            result.append(Range(start, rng.last))
    return result


def default_pools(net: IPNetwork, gateway: str | None) -> list[Range]:
    bounds = host_bounds(net)
    taken = [int(ipaddress.ip_address(gateway))] if gateway else []
    return subtract([bounds], taken)


def parse_pools(net: IPNetwork,
                pools: Sequence[Mapping[str, str]]) -> list[Range]:
    """Turn API pools into ranges, checking them as Neutron does."""
    ranges = []
    for pool in pools:
        text = f"{pool['start']}-{pool['end']}"
        start = ipaddress.ip_address(pool['start'])
        end = ipaddress.ip_address(pool['end'])
        if start.version != net.version or end.version != net.version \
                or int(start) > int(end):
            raise exc.InvalidAllocationPool(pool=text)
        bounds = host_bounds(net)
        if int(start) < bounds.first or int(end) > bounds.last:
            raise exc.OutOfBoundsAllocationPool(pool=text,
                                                subnet_cidr=str(net))
        ranges.append(Range(int(start), int(end)))
    ranges.sort()
    for left, right in itertools.pairwise(ranges):
        if right.first <= left.last:
            raise exc.OverlappingAllocationPools(
                pool_1=format_range(left, net.version),
                pool_2=format_range(right, net.version),
                subnet_cidr=str(net))
    return ranges


def check_gateway_outside(ranges: list[Range], gateway: str | None,
                          version: int) -> None:
    if not gateway:
        return
    value = int(ipaddress.ip_address(gateway))
    for rng in ranges:
        if rng.first <= value <= rng.last:
            raise exc.GatewayConflictWithAllocationPools(
                ip_address=gateway, pool=format_range(rng, version))


def format_range(rng: Range, version: int) -> str:
    return f'{to_ip(rng.first, version)}-{to_ip(rng.last, version)}'


def pool_size(ranges: Iterable[Range]) -> int:
    return sum(r.last - r.first + 1 for r in ranges)


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address a host with `mac` configures itself on a /64."""
    octets = bytearray(int(part, 16) for part in mac.split(':'))
    octets[0] ^= 0x02
    interface_id = bytes(octets[:3]) + b'\xff\xfe' + bytes(octets[3:])
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(
        int(net.network_address) | int.from_bytes(interface_id, 'big')))
