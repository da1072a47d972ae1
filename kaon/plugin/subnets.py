"""Subnets: CIDR rules, gateway, pools, DNS servers and host routes."""
from __future__ import annotations

import ipaddress
from typing import Any, Sequence

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.constants import DEVICE_OWNER_DHCP
from kaon.context import Context
from kaon.db.models import (
    allocation_pools,
    dns_nameservers,
    host_routes,
    ip_allocations,
    networks,
    ports,
    subnets,
)
from kaon.ipam import allocator, ranges
from kaon.plugin import (
    common,
    networks as nets,
    quotas,
    rbac,
    service_types,
    subnet_alloc,
)
from kaon.plugin.query import (
    ListQuery,
    SpecialFilter,
    select_page,
    where_clauses,
)

AUTO_ADDRESS_MODES = ('slaac', 'dhcpv6-stateless')


def is_auto_address(subnet: Any) -> bool:
    """SLAAC subnets: the address is derived from the MAC, not allocated."""
    return subnet.ip_version == 6 and \
        subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own subnets and those of the networks shared
    with them."""
    if ctx.is_admin:
        return []
    return [or_(subnets.c.project_id == ctx.project_id,
                subnets.c.network_id.in_(nets.shared_with(ctx.project_id)))]


def _shared_filter(ctx: Context) -> dict[str, SpecialFilter]:
    """`shared=<bool>`: whether the subnet's network is shared with the
    caller (Neutron's subnets have no `shared` of their own)."""
    def by_shared(table: Any, values: list[Any]) -> Any:
        return rbac.matching(table.c.network_id.in_(
            nets.shared_with(ctx.project_id)), values)
    return {'shared': by_shared}


def list_subnets(conn: Connection, ctx: Context,
                 query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(subnets, query.filters, _shared_filter(ctx))
    return _to_dicts(conn, select_page(conn, subnets, query,
                                       clauses + visible(ctx)))


def _to_dicts(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    pools = common.rows_by(conn, allocation_pools, 'subnet_id', ids,
                           allocation_pools.c.id)
    dns = common.rows_by(conn, dns_nameservers, 'subnet_id', ids,
                         dns_nameservers.c.order)
    routes = common.rows_by(conn, host_routes, 'subnet_id', ids)
    tags = common.load_tags(conn, ids)
    types = service_types.load(conn, ids)
    result = []
    for row in rows:
        sub = common.row_to_dict(row)
        sub['service_types'] = types[row.id]
        sub['allocation_pools'] = [{'start': p.first_ip, 'end': p.last_ip}
                                   for p in pools[row.id]]
        sub['dns_nameservers'] = [d.address for d in dns[row.id]]
        sub['host_routes'] = [{'destination': r.destination,
                               'nexthop': r.nexthop} for r in routes[row.id]]
        sub['tags'] = tags[row.id]
        result.append(sub)
    return result


def get_row(conn: Connection, ctx: Context, subnet_id: str) -> Any:
    return common.visible_row(conn, subnets, 'subnet', subnet_id,
                              visible(ctx))


def get_subnet(conn: Connection, ctx: Context,
               subnet_id: str) -> dict[str, Any]:
    return _to_dicts(conn, [get_row(conn, ctx, subnet_id)])[0]


def _invalid(message: str) -> exc.InvalidInput:
    return exc.InvalidInput(error_message=message)


def _check_cidr(conn: Connection, body: dict[str, Any]) -> ranges.IPNetwork:
    net = ipaddress.ip_network(body['cidr'])
    if net.version != body['ip_version']:
        raise _invalid(f"Cidr {net} does not match ip version "
                       f"{body['ip_version']}")
    ra, mode = body.get('ipv6_ra_mode'), body.get('ipv6_address_mode')
    if net.version == 4 and (ra or mode):
        raise _invalid('ipv6_ra_mode or ipv6_address_mode is not valid '
                       'when ip_version is 4')
    if ra and mode and ra != mode:
        raise _invalid(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode "
                       f"set to '{mode}' is not valid. If both attributes "
                       'are set, they must be the same value')
    if mode in AUTO_ADDRESS_MODES and net.prefixlen != 64:
        raise _invalid(f'Invalid CIDR {net} for IPv6 address mode. kaon '
                       'uses the EUI-64 address format, which requires the '
                       'prefix to be /64')
    for other in conn.execute(select(subnets.c.cidr).where(
            subnets.c.network_id == body['network_id'])).scalars():
        other_net = ipaddress.ip_network(other)
        if other_net.version == net.version and other_net.overlaps(net):
            raise _invalid(f'Requested subnet with cidr: {net} for network: '
                           f"{body['network_id']} overlaps with another "
                           'subnet')
    return net


def _check_gateway(net: ranges.IPNetwork, gateway: str | None) -> None:
    if gateway is None:
        return
    address = ipaddress.ip_address(gateway)
    if address in net and net.version == 4 and net.prefixlen < 31 and \
            address in (net.network_address, net.broadcast_address):
        raise _invalid('Gateway is not valid on subnet')


def _check_versions(version: int, body: dict[str, Any]) -> None:
    """Every address a subnet carries is of its IP version: an IPv6 DNS
    server or route on an IPv4 subnet is an option dnsmasq cannot serve
    (Neutron's _validate_ip_version, with its wording)."""
    named = [('gateway_ip', body.get('gateway_ip'))]
    named += [('dns_nameserver', a) for a in body.get('dns_nameservers') or ()]
    for route in body.get('host_routes') or ():
        named += [('destination', route['destination']),
                  ('nexthop', route['nexthop'])]
    for name, address in named:
        if address is not None and ipaddress.ip_network(
                address, strict=False).version != version:
            raise _invalid(f"{name} '{address}' does not match the "
                           f"ip_version '{version}'")


def _check_dhcp_cidr(net: ranges.IPNetwork) -> None:
    """What Neutron's _validate_subnet refuses when DHCP is turned on: no
    room for a DHCP server and a client, or addresses DHCP cannot lease."""
    if net.prefixlen > (30 if net.version == 4 else 126):
        raise _invalid('Subnet has a prefix length that is incompatible '
                       'with DHCP service enabled')
    for kind, is_kind in (('Multicast', net.is_multicast),
                          ('Loopback', net.is_loopback),
                          ('Link-local', net.is_link_local)):
        if is_kind:
            raise _invalid(f'{kind} IP subnet is not supported if '
                           'enable_dhcp is True')


def _check_dhcp_pools(pools: list[ranges.Range], auto_address: bool) -> None:
    """A DHCP-enabled subnet needs a pool: its DHCP port takes its address
    from one (SLAAC subnets excepted: that address is the port's EUI-64).
    Without it the network's dnsmasq would have a subnet it cannot serve."""
    if not pools and not auto_address:
        raise _invalid('A subnet with DHCP enabled needs a non-empty '
                       'allocation pool for its DHCP port')


def _check_lists(subnet_id: str, body: dict[str, Any]) -> None:
    if len(body.get('dns_nameservers') or ()) > CONF.max_dns_nameservers:
        raise exc.DNSNameServersExhausted(subnet_id=subnet_id,
                                          quota=CONF.max_dns_nameservers)
    if len(body.get('host_routes') or ()) > CONF.max_subnet_host_routes:
        raise exc.HostRoutesExhausted(subnet_id=subnet_id,
                                      quota=CONF.max_subnet_host_routes)


def create_subnets(conn: Connection, ctx: Context,
                   bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The quota lock before any network row lock: one order for every
    # (bulk) create, so two bulks on different networks can't deadlock.
    quotas.enforce_bodies(conn, 'subnet', bodies)
    return [get_subnet(conn, ctx, _create_subnet(conn, ctx, body))
            for body in bodies]


def _create_subnet(conn: Connection, ctx: Context,
                   body: dict[str, Any]) -> str:
    # Locking the network serialises subnet creation on it, which is what
    # makes the overlap check race-free (and the MTU check: see
    # networks.update_network).
    net_row = nets.get_row(conn, ctx, body['network_id'], for_update=True)
    body = subnet_alloc.allocate_cidr(conn, ctx, body)
    net = _check_cidr(conn, body)
    nets.check_mtu(net_row.id, net_row.mtu, [net.version])
    _check_versions(net.version, body)
    gateway = body.get('gateway_ip', ranges.default_gateway(net))
    _check_gateway(net, gateway)
    if body.get('allocation_pools') is not None:
        pools = ranges.parse_pools(net, body['allocation_pools'])
        ranges.check_gateway_outside(pools, gateway, net.version)
    else:
        pools = ranges.default_pools(net, gateway)
    if body['enable_dhcp']:
        _check_dhcp_cidr(net)
        _check_dhcp_pools(pools, body.get('ipv6_address_mode')
                          in AUTO_ADDRESS_MODES)
    _check_lists('new subnet', body)
    subnet_id = common.new_id()
    values = common.column_values(subnets, body)
    values.update(id=subnet_id, cidr=str(net), gateway_ip=gateway,
                  **common.standard_attrs(body))
    conn.execute(insert(subnets), values)
    _store_pools(conn, subnet_id, pools, net.version)
    allocator.store_ranges(conn, subnet_id, pools)
    _store_dns(conn, subnet_id, body.get('dns_nameservers') or [])
    _store_routes(conn, subnet_id, body.get('host_routes') or [])
    common.set_tags(conn, subnet_id, body.get('tags', ()), new=True)
    service_types.store(conn, subnet_id, body.get('service_types') or [])
    if body.get('ipv6_address_mode') in AUTO_ADDRESS_MODES:
        _address_existing_ports(conn, net_row.id, subnet_id, str(net))
    common.bump(conn, networks, [net_row.id])
    return subnet_id


def _address_existing_ports(conn: Connection, network_id: str,
                            subnet_id: str, cidr: str) -> None:
    """A new SLAAC subnet gives every port of the network an address."""
    rows = [{'subnet_id': subnet_id, 'port_id': p.id,
             'network_id': network_id,
             'ip_address': (ip := ranges.eui64(cidr, p.mac_address)),
             'ip_key': ranges.ip_key(ip)}
            for p in conn.execute(select(ports.c.id, ports.c.mac_address)
                                  .where(ports.c.network_id == network_id))]
    if rows:
        conn.execute(insert(ip_allocations), rows)
        common.bump(conn, ports, [r['port_id'] for r in rows])


def _store_pools(conn: Connection, subnet_id: str,
                 pools: list[ranges.Range], version: int) -> None:
    conn.execute(delete(allocation_pools).where(
        allocation_pools.c.subnet_id == subnet_id))
    rows = [{'subnet_id': subnet_id,
             'first_ip': ranges.to_ip(p.first, version),
             'last_ip': ranges.to_ip(p.last, version)} for p in pools]
    if rows:
        conn.execute(insert(allocation_pools), rows)


def _store_dns(conn: Connection, subnet_id: str, servers: list[str]) -> None:
    conn.execute(delete(dns_nameservers).where(
        dns_nameservers.c.subnet_id == subnet_id))
    rows = [{'subnet_id': subnet_id, 'address': a, 'order': i}
            for i, a in enumerate(servers)]
    if rows:
        conn.execute(insert(dns_nameservers), rows)


def _store_routes(conn: Connection, subnet_id: str,
                  routes: list[dict[str, str]]) -> None:
    conn.execute(delete(host_routes).where(
        host_routes.c.subnet_id == subnet_id))
    rows = [{'subnet_id': subnet_id, **r} for r in routes]
    if rows:
        conn.execute(insert(host_routes), rows)


def update_subnet(conn: Connection, ctx: Context, subnet_id: str,
                  body: dict[str, Any]) -> None:
    row = get_row(conn, ctx, subnet_id)
    net = ipaddress.ip_network(row.cidr)
    _check_versions(net.version, body)
    gateway = body.get('gateway_ip', row.gateway_ip)
    if 'gateway_ip' in body:
        _check_gateway(net, gateway)
        _check_gateway_free(conn, subnet_id, gateway)
    _check_lists(subnet_id, body)
    enabling = bool(body.get('enable_dhcp')) and not row.enable_dhcp
    if 'allocation_pools' in body:
        pools = ranges.parse_pools(net, body['allocation_pools'] or [])
    elif 'gateway_ip' in body or enabling:
        pools = allocator.stored_pools(conn, subnet_id)
    else:
        pools = []      # read by no check below: a rename reads no pools
    if 'allocation_pools' in body or 'gateway_ip' in body:
        ranges.check_gateway_outside(pools, gateway, net.version)
    _check_dhcp_update(row, body, net, pools, enabling)
    if 'allocation_pools' in body:
        _store_pools(conn, subnet_id, pools, net.version)
        allocator.rebuild_ranges(conn, subnet_id, pools)
    if 'dns_nameservers' in body:
        _store_dns(conn, subnet_id, body['dns_nameservers'] or [])
    if 'host_routes' in body:
        _store_routes(conn, subnet_id, body['host_routes'] or [])
    if 'tags' in body:
        common.set_tags(conn, subnet_id, body['tags'])
    if 'service_types' in body:
        service_types.store(conn, subnet_id, body['service_types'])
    values = common.column_values(subnets, body)
    values.update(common.bumped(row))
    conn.execute(update(subnets).where(subnets.c.id == subnet_id)
                 .values(**values))
    common.bump(conn, networks, [row.network_id])


def _check_dhcp_update(row: Any, body: dict[str, Any],
                       net: ranges.IPNetwork, pools: list[ranges.Range],
                       enabling: bool) -> None:
    """The DHCP rules of a create, on the update that turns DHCP on or
    changes the pools of a DHCP-enabled subnet.  As in Neutron, the CIDR
    rules apply only when DHCP is turned on, so a subnet stored before them
    can still be renamed.  `enabling`: the update turns DHCP on."""
    if enabling:
        _check_dhcp_cidr(net)
    if enabling or (row.enable_dhcp and body.get('enable_dhcp', True)
                    and 'allocation_pools' in body):
        _check_dhcp_pools(pools, is_auto_address(row))


def _check_gateway_free(conn: Connection, subnet_id: str,
                        gateway: str | None) -> None:
    if gateway is None:
        return
    port_id = conn.execute(select(ip_allocations.c.port_id).where(
        ip_allocations.c.subnet_id == subnet_id,
        ip_allocations.c.ip_address == gateway)).scalar()
    if port_id is not None:
        raise exc.IpAddressAlreadyAllocated(ip=gateway, subnet_id=subnet_id)


def delete_subnet(conn: Connection, ctx: Context,
                  subnet_id: str) -> dict[str, Any]:
    """Delete a subnet unless a non-DHCP port holds an address on it.

    The DHCP ports' addresses on it go with it, and on a SLAAC or
    DHCPv6-stateless subnet every port's: those addresses were derived,
    never asked for (Neutron's _remove_subnet_ip_allocations_from_ports).
    Returns the subnet's own columns (as attributes; no pools, routes or
    servers).
    """
    row = get_row(conn, ctx, subnet_id)
    holders = conn.execute(
        select(ports.c.id, ports.c.device_owner).join(
            ip_allocations, ip_allocations.c.port_id == ports.c.id)
        .where(ip_allocations.c.subnet_id == subnet_id)).all()
    _check_unused(row, holders)
    conn.execute(delete(ip_allocations).where(
        ip_allocations.c.subnet_id == subnet_id))
    common.drop_tags(conn, [subnet_id])
    conn.execute(delete(subnets).where(subnets.c.id == subnet_id))
    _revise_holders(conn, row.network_id, [p.id for p in holders])
    return common.row_to_dict(row)


def _check_unused(row: Any, holders: Sequence[Any]) -> None:
    if is_auto_address(row):
        return
    if any(p.device_owner != DEVICE_OWNER_DHCP for p in holders):
        raise exc.SubnetInUse(
            subnet_id=row.id,
            reason='One or more ports have an IP allocation from this subnet')


def _revise_holders(conn: Connection, network_id: str,
                    port_ids: list[str]) -> None:
    """A subnet gone revises its network, and the ports that lost an
    address on it (Neutron: Subnet and IPAllocation revise on change)."""
    common.bump(conn, ports, port_ids)
    common.bump(conn, networks, [network_id])
