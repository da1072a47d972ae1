"""Which addresses a port gets: Neutron's fixed_ips rules over kaon's IPAM.

No fixed_ips asked for: one address from the first IPv4 subnet that has a
free one, one from the first stateful IPv6 subnet, and the EUI-64 address
on every SLAAC subnet.  `{"subnet_id"}` asks for any free address of that
subnet, `{"ip_address"}` (with or without subnet) for exactly that address.
"""
from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Row

from kaon import exceptions as exc
from kaon.db.models import ip_allocations, subnets
from kaon.ipam import addresses, allocator, ranges
from kaon.plugin.subnets import is_auto_address


def _network_subnets(conn: Connection, network_id: str) -> list[Row[Any]]:
    return list(conn.execute(select(subnets).where(
        subnets.c.network_id == network_id)
        .order_by(subnets.c.created_at, subnets.c.id)))


Allocation = dict[str, str]


def _record(conn: Connection, port: dict[str, Any], subnet: Any,
            address: str) -> Allocation:
    conn.execute(insert(ip_allocations), {
        'subnet_id': subnet.id, 'ip_address': address, 'port_id': port['id'],
        'network_id': port['network_id'], 'ip_key': ranges.ip_key(address)})
    return {'subnet_id': subnet.id, 'ip_address': address}


def _take_slaac(conn: Connection, port: dict[str, Any],
                subnet: Any) -> Allocation:
    """A SLAAC subnet's address is the MAC's EUI-64: always there."""
    return _record(conn, port, subnet,
                   ranges.eui64(subnet.cidr, port['mac_address']))


def _take_any(conn: Connection, port: dict[str, Any],
              subnet: Any) -> Allocation | None:
    if is_auto_address(subnet):
        return _take_slaac(conn, port, subnet)
    address = allocator.take_any(conn, subnet.id, subnet.ip_version)
    if address is None:
        return None
    return _record(conn, port, subnet, address)


def _take_exact(conn: Connection, port: dict[str, Any], subnet: Any,
                address: str) -> Allocation:
    taken = conn.execute(select(ip_allocations.c.port_id).where(
        ip_allocations.c.subnet_id == subnet.id,
        ip_allocations.c.ip_address == address)).first()
    if taken is not None:
        raise exc.IpAddressAlreadyAllocated(ip=address, subnet_id=subnet.id)
    allocator.take_specific(conn, subnet.id, address)
    return _record(conn, port, subnet, address)


def _allocate_default(conn: Connection, port: dict[str, Any],
                      candidates: list[Any]) -> list[Allocation]:
    taken = []
    families: dict[int, list[Any]] = {4: [], 6: []}
    for subnet in candidates:
        if is_auto_address(subnet):
            taken.append(_take_slaac(conn, port, subnet))
        else:
            families[subnet.ip_version].append(subnet)
    for family in families.values():
        if not family:
            continue
        got = next(filter(None, (_take_any(conn, port, s) for s in family)),
                   None)
        if got is None:
            raise exc.IpAddressGenerationFailure(net_id=port['network_id'])
        taken.append(got)
    return taken


def _resolve(candidates: list[Any], network_id: str,
             request: dict[str, Any]) -> Any:
    """The subnet a fixed_ips entry names, checked against the network."""
    address = request.get('ip_address')
    if 'subnet_id' in request:
        subnet = next((s for s in candidates
                       if s.id == request['subnet_id']), None)
        if subnet is None:
            raise exc.InvalidInput(error_message=(
                f'Failed to create port on network {network_id}, because '
                f"fixed_ips included invalid subnet {request['subnet_id']}"))
        if address and not _fits(subnet, address):
            raise exc.InvalidIpForSubnet(ip_address=address)
        return subnet
    address = request['ip_address']   # the API requires one of the two
    subnet = next((s for s in candidates if _fits(s, address)), None)
    if subnet is None:
        raise exc.InvalidIpForNetwork(ip_address=address)
    return subnet


def _fits(subnet: Any, address: str) -> bool:
    """Inside the CIDR and not its IPv4 network or broadcast address."""
    net = ipaddress.ip_network(subnet.cidr)
    ip = ipaddress.ip_address(address)
    if ip.version != net.version or ip not in net:
        return False
    bounds = ranges.host_bounds(net)
    return net.version == 6 or bounds.first <= int(ip) <= bounds.last


def _allocate_requested(conn: Connection, port: dict[str, Any],
                        candidates: list[Any],
                        requested: list[dict[str, Any]]) -> list[Allocation]:
    seen = set()
    taken = []
    for request in requested:
        subnet = _resolve(candidates, port['network_id'], request)
        address = request.get('ip_address')
        if address is None:
            got = _take_any(conn, port, subnet)
            if got is None:
                raise exc.IpAddressGenerationFailure(
                    net_id=port['network_id'])
            taken.append(got)
            continue
        if is_auto_address(subnet):
            raise exc.InvalidInput(error_message=(
                f'IPv6 address {address} cannot be directly assigned to a '
                f'port on subnet {subnet.id} as the subnet is configured '
                'for automatic addresses'))
        if (subnet.id, address) in seen:
            raise exc.InvalidInput(error_message=(
                f'Duplicate IP address {address} in fixed_ips'))
        seen.add((subnet.id, address))
        taken.append(_take_exact(conn, port, subnet, address))
    return taken


def allocate(conn: Connection, port: dict[str, Any],
             requested: list[dict[str, Any]] | None) -> list[Allocation]:
    """Allocate a new port's addresses; returns them as the API shows them."""
    candidates = _network_subnets(conn, port['network_id'])
    if requested is None:
        taken = _allocate_default(conn, port, candidates)
    else:
        taken = _allocate_requested(conn, port, candidates,
                                    _canonical(requested))
    return sorted(taken, key=lambda a: ranges.ip_key(a['ip_address']))


def release(conn: Connection, held: list[dict[str, str]]) -> None:
    for ip in held:
        conn.execute(delete(ip_allocations).where(
            ip_allocations.c.subnet_id == ip['subnet_id'],
            ip_allocations.c.ip_address == ip['ip_address']))
        allocator.give_back(conn, ip['subnet_id'], ip['ip_address'])


def replace(conn: Connection, port: dict[str, Any],
            held: list[dict[str, str]],
            requested: list[dict[str, Any]]) -> None:
    """Swap a port's addresses in one go: keep, release, then allocate."""
    remaining = list(held)
    wanted = []
    for request in _canonical(requested):
        kept = next((h for h in remaining if _same(h, request)), None)
        if kept is None:
            wanted.append(request)
        else:
            remaining.remove(kept)
    release(conn, remaining)
    candidates = _network_subnets(conn, port['network_id'])
    _allocate_requested(conn, port, candidates, wanted)


def _same(held: dict[str, str], request: dict[str, Any]) -> bool:
    """Does this request ask for an address the port already holds?"""
    if 'ip_address' in request:
        return bool(held['ip_address'] == request['ip_address'] and
                    request.get('subnet_id', held['subnet_id']) ==
                    held['subnet_id'])
    return bool(request.get('subnet_id') == held['subnet_id'])


def parse_filter(value: Any) -> tuple[str, str]:
    """Neutron's `fixed_ips=ip_address=X` / `fixed_ips=subnet_id=Y` filter
    as (key, value), the value in the form it is stored in: any spelling
    of an address matches, whether the filter came over the API or RPC."""
    key, _, wanted = str(value).partition('=')
    try:
        if key == 'ip_address':
            return key, addresses.canonical_ip(wanted)
        if key == 'subnet_id' and len(wanted) in (32, 36):
            return key, str(uuid.UUID(wanted))
    except (addresses.BadAddress, ValueError):
        pass
    raise exc.InvalidInput(error_message=f"'{addresses.shown(value)}' is "
                           'not a valid fixed_ips filter')


def _canonical(requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requested addresses in the one form they are stored in, so that two
    spellings of an address are one address.  The API has done this; an
    agent's request over RPC has not."""
    result = []
    for request in requested:
        if request.get('ip_address') is not None:
            try:
                address = addresses.canonical_ip(request['ip_address'])
            except addresses.BadAddress as err:
                raise exc.InvalidInput(error_message=str(err)) from None
            request = dict(request, ip_address=address)
        result.append(request)
    return result
