"""`kaon network|subnet|port create|list|show|set|delete`, spelled like the
`openstack` CLI so that its users (and its docs) carry over.

Each command is a handler of an argparse Namespace; the option helpers
(`network_options`, ...) are shared with kaon.cli.legacy, whose
neutronclient spellings fill the same Namespace and call the same handlers.
"""
from __future__ import annotations

import argparse
from typing import Any

from kaon.cli import agents, output
from kaon.cli.common import (
    Subparsers,
    add_command,
    add_tag_options,
    apply_set,
    client_for,
    delete_command,
    extended,
    group,
    key_values,
    only_set,
    show_command,
    toggle,
)

NETWORK_COLUMNS = [('ID', 'id'), ('Name', 'name'), ('Subnets', 'subnets')]
NETWORK_LONG = [('ID', 'id'), ('Name', 'name'), ('Status', 'status'),
                ('Project', 'project_id'), ('State', 'admin_state_up'),
                ('Shared', 'shared'), ('Subnets', 'subnets'),
                ('Router Type', 'router:external'), ('MTU', 'mtu'),
                ('Tags', 'tags')]
SUBNET_COLUMNS = [('ID', 'id'), ('Name', 'name'), ('Network', 'network_id'),
                  ('Subnet', 'cidr')]
SUBNET_LONG = SUBNET_COLUMNS + [
    ('Project', 'project_id'), ('DHCP', 'enable_dhcp'),
    ('Name Servers', 'dns_nameservers'),
    ('Allocation Pools', 'allocation_pools'), ('Host Routes', 'host_routes'),
    ('IP Version', 'ip_version'), ('Gateway', 'gateway_ip'), ('Tags', 'tags')]

POOL = key_values({'start': 'start', 'end': 'end'}, ('start', 'end'))
ROUTE = key_values({'destination': 'destination', 'gateway': 'nexthop',
                    'nexthop': 'nexthop'}, ('destination', 'nexthop'))


# -- networks --------------------------------------------------------------
def network_options(parser: argparse.ArgumentParser, setting: bool) -> None:
    parser.add_argument('--description', help='description')
    toggle(parser, 'enable', '--enable', '--disable',
           'admin state up (default)', 'admin state down')
    toggle(parser, 'share', '--share', '--no-share',
           'share with every project (admin)', 'do not share')
    toggle(parser, 'external', '--external', '--internal',
           'router:external (admin)', 'not router:external')
    parser.add_argument('--mtu', type=int, help='MTU (at most the '
                        "server's global_physnet_mtu, the default)")
    if not setting:
        parser.add_argument('--project', help='owning project (admin)')
    add_tag_options(parser, setting)


def _network_body(args: argparse.Namespace) -> dict[str, Any]:
    return only_set(name=args.name, description=args.description,
                    admin_state_up=args.enable, shared=args.share,
                    mtu=args.mtu, **{'router:external': args.external})


def network_create(args: argparse.Namespace) -> int:
    body = _network_body(args)
    body.update(only_set(project_id=args.project, tags=args.tags or None))
    output.print_item(args, client_for(args).create('network', body))
    return 0


def network_list_options(parser: argparse.ArgumentParser,
                         by_agent: bool = True) -> None:
    parser.add_argument('--name', help='only networks of this name')
    parser.add_argument('--project', help='only networks of this project')
    toggle(parser, 'share', '--share', '--no-share', 'only shared',
           'only not shared')
    toggle(parser, 'enable', '--enable', '--disable', 'only admin up',
           'only admin down')
    toggle(parser, 'external', '--external', '--internal',
           'only router:external', 'only internal')
    parser.add_argument('--tag', dest='tags', action='append', default=[],
                        metavar='TAG',
                        help='only networks with this tag (repeatable: '
                             'all of them)')
    if by_agent:
        parser.add_argument('--agent', metavar='AGENT_ID',
                            help='only networks this DHCP agent hosts')
    parser.add_argument('--long', action='store_true',
                        help='more columns')


def network_list(args: argparse.Namespace) -> int:
    client = client_for(args)
    if args.agent:
        agent = client.find('agent', args.agent, by_name=False)
        items = client.request(
            'GET', f"agents/{agent['id']}/dhcp-networks")['networks']
    else:
        items = client.list('networks', **only_set(
            name=args.name, project_id=args.project, shared=args.share,
            admin_state_up=args.enable, tags=args.tags or None,
            **{'router:external': args.external}))
    output.print_list(args, NETWORK_LONG if args.long else NETWORK_COLUMNS,
                      items)
    return 0


def network_set(args: argparse.Namespace) -> int:
    client = client_for(args)
    network = client.find('network', args.network)
    apply_set(client, 'network', network, _network_body(args), args)
    return 0


# -- subnets ---------------------------------------------------------------
def subnet_options(parser: argparse.ArgumentParser, setting: bool) -> None:
    parser.add_argument('--description', help='description')
    parser.add_argument('--gateway', metavar='IP|auto|none',
                        help="gateway IP; 'auto' (the default at create) "
                             "takes the subnet's first address, 'none' "
                             'means no gateway')
    parser.add_argument('--allocation-pool', dest='allocation_pools',
                        type=POOL, action='append', default=[],
                        metavar='start=IP,end=IP',
                        help='a range ports get addresses from '
                             '(repeatable)')
    parser.add_argument('--dns-nameserver', dest='dns_nameservers',
                        action='append', default=[], metavar='IP',
                        help='DNS server handed out by DHCP (repeatable)')
    parser.add_argument('--host-route', dest='host_routes', type=ROUTE,
                        action='append', default=[],
                        metavar='destination=CIDR,gateway=IP',
                        help='a static route handed out by DHCP '
                             '(repeatable)')
    toggle(parser, 'dhcp', '--dhcp', '--no-dhcp',
           'serve the subnet by DHCP (default)', 'no DHCP')
    if setting:
        parser.add_argument('--no-allocation-pool', action='store_true',
                            help='drop the existing pools')
        parser.add_argument('--no-dns-nameservers', action='store_true',
                            help='drop the existing DNS servers')
        parser.add_argument('--no-host-route', action='store_true',
                            help='drop the existing host routes')
    else:
        parser.add_argument('--ip-version', type=int, choices=(4, 6),
                            help="default: from the subnet range's form")
        parser.add_argument('--ipv6-ra-mode', help='IPv6 RA mode')
        parser.add_argument('--ipv6-address-mode', help='IPv6 address mode')
        parser.add_argument('--project', help='owning project (admin)')
    add_tag_options(parser, setting)


def _gateway(value: str | None) -> dict[str, Any]:
    if value is None or value == 'auto':
        return {}
    return {'gateway_ip': None if value.lower() == 'none' else value}


def subnet_create(args: argparse.Namespace) -> int:
    client = client_for(args)
    cidr = args.subnet_range
    body = only_set(
        name=args.name, network_id=client.find_id('network', args.network),
        cidr=cidr, ip_version=args.ip_version or (6 if ':' in cidr else 4),
        description=args.description, enable_dhcp=args.dhcp,
        allocation_pools=args.allocation_pools or None,
        dns_nameservers=args.dns_nameservers or None,
        host_routes=args.host_routes or None, project_id=args.project,
        ipv6_ra_mode=args.ipv6_ra_mode, tags=args.tags or None,
        ipv6_address_mode=args.ipv6_address_mode)
    body.update(_gateway(args.gateway))
    output.print_item(args, client.create('subnet', body))
    return 0


def subnet_list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--network', help='only subnets of this network')
    parser.add_argument('--name', help='only subnets of this name')
    parser.add_argument('--subnet-range', help='only subnets of this CIDR')
    parser.add_argument('--gateway', help='only subnets with this gateway')
    parser.add_argument('--ip-version', type=int, choices=(4, 6))
    parser.add_argument('--project', help='only subnets of this project')
    toggle(parser, 'dhcp', '--dhcp', '--no-dhcp', 'only DHCP enabled',
           'only DHCP disabled')
    parser.add_argument('--tag', dest='tags', action='append', default=[],
                        metavar='TAG',
                        help='only subnets with this tag (repeatable)')
    parser.add_argument('--long', action='store_true', help='more columns')


def subnet_list(args: argparse.Namespace) -> int:
    client = client_for(args)
    network = client.find_id('network', args.network) if args.network \
        else None
    items = client.list('subnets', **only_set(
        network_id=network, name=args.name, cidr=args.subnet_range,
        gateway_ip=args.gateway, ip_version=args.ip_version,
        project_id=args.project, enable_dhcp=args.dhcp,
        tags=args.tags or None))
    output.print_list(args, SUBNET_LONG if args.long else SUBNET_COLUMNS,
                      items)
    return 0


def subnet_set(args: argparse.Namespace) -> int:
    client = client_for(args)
    subnet = client.find('subnet', args.subnet)
    body = only_set(
        name=args.name, description=args.description, enable_dhcp=args.dhcp,
        allocation_pools=extended(subnet.get('allocation_pools'),
                                  args.allocation_pools,
                                  args.no_allocation_pool),
        dns_nameservers=extended(subnet.get('dns_nameservers'),
                                 args.dns_nameservers,
                                 args.no_dns_nameservers),
        host_routes=extended(subnet.get('host_routes'), args.host_routes,
                             args.no_host_route))
    body.update(_gateway(args.gateway))
    apply_set(client, 'subnet', subnet, body, args)
    return 0


def _register_networks(sub: Subparsers) -> None:
    net = group(sub, 'network', 'networks (and the DHCP agents serving '
                'them)')
    p = add_command(net, 'create', network_create, 'create a network',
                    ['kaon network create demo-net',
                     'kaon network create --mtu 1450 --tag blue net2'])
    p.add_argument('name', help='name of the new network')
    network_options(p, setting=False)
    p = add_command(net, 'list', network_list, 'list networks',
                    ['kaon network list', 'kaon network list --long -f json',
                     'kaon network list -f value -c ID -c Name'])
    network_list_options(p)
    p = add_command(net, 'show', show_command('network'), 'show a network',
                    ['kaon network show demo-net',
                     'kaon network show demo-net -f value -c id'])
    p.add_argument('network', help='name or ID')
    p = add_command(net, 'set', network_set, "change a network's "
                    'attributes', ['kaon network set demo-net --name n2 '
                                   '--disable', 'kaon network set n2 '
                                                '--no-tag --tag red'],
                    prints=False)
    p.add_argument('network', help='name or ID')
    p.add_argument('--name', help='new name')
    network_options(p, setting=True)
    p = add_command(net, 'delete', delete_command('network'),
                    'delete networks', ['kaon network delete demo-net net2'],
                    prints=False)
    p.add_argument('network', nargs='+', help='name or ID')
    agents.register_network_agent(net)


def _register_subnets(sub: Subparsers) -> None:
    sn = group(sub, 'subnet', 'subnets: address ranges of a network')
    p = add_command(sn, 'create', subnet_create, 'create a subnet', [
        'kaon subnet create --network demo-net --subnet-range 10.0.0.0/24 '
        'demo-subnet',
        'kaon subnet create --network demo-net --subnet-range 10.0.1.0/24 '
        '--gateway 10.0.1.254 --allocation-pool start=10.0.1.10,'
        'end=10.0.1.99 --dns-nameserver 10.0.1.254 --host-route '
        'destination=192.168.0.0/16,gateway=10.0.1.1 --no-dhcp s2'])
    p.add_argument('name', help='name of the new subnet')
    p.add_argument('--network', required=True, help='network name or ID')
    p.add_argument('--subnet-range', required=True, metavar='CIDR',
                   help='the addresses, e.g. 10.0.0.0/24')
    subnet_options(p, setting=False)
    p = add_command(sn, 'list', subnet_list, 'list subnets', [
        'kaon subnet list', 'kaon subnet list --network demo-net --long'])
    subnet_list_options(p)
    p = add_command(sn, 'show', show_command('subnet'), 'show a subnet',
                    ['kaon subnet show demo-subnet -f json'])
    p.add_argument('subnet', help='name or ID')
    p = add_command(sn, 'set', subnet_set, "change a subnet's attributes", [
        'kaon subnet set demo-subnet --dns-nameserver 10.0.0.2 --no-dhcp',
        'kaon subnet set demo-subnet --gateway none'], prints=False)
    p.add_argument('subnet', help='name or ID')
    p.add_argument('--name', help='new name')
    subnet_options(p, setting=True)
    p = add_command(sn, 'delete', delete_command('subnet'), 'delete subnets',
                    ['kaon subnet delete demo-subnet'], prints=False)
    p.add_argument('subnet', nargs='+', help='name or ID')


def register(sub: Subparsers) -> None:
    _register_networks(sub)
    _register_subnets(sub)
