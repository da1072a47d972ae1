"""`kaon port create|list|show|set|delete`, spelled like the `openstack` CLI;
the option helpers are shared with kaon.cli.legacy (`port-create`, ...)."""
from __future__ import annotations

import argparse
from typing import Any

from kaon.cli import common, output
from kaon.cli.client import Client

PORT_COLUMNS = [('ID', 'id'), ('Name', 'name'), ('MAC Address', 'mac_address'),
                ('Fixed IP Addresses', 'fixed_ips'), ('Status', 'status')]
PORT_LONG = PORT_COLUMNS + [
    ('Network', 'network_id'), ('Device ID', 'device_id'),
    ('Device Owner', 'device_owner'), ('Host', 'binding:host_id'),
    ('Tags', 'tags')]
VNIC_TYPES = ('normal', 'direct', 'macvtap', 'baremetal', 'direct-physical',
              'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed')

# openstack's spelling first, then neutronclient's.
FIXED_IP = common.key_values({'subnet': 'subnet', 'subnet_id': 'subnet',
                              'ip-address': 'ip_address',
                              'ip_address': 'ip_address'})
DHCP_OPTION = common.key_values(
    {'name': 'opt_name', 'opt_name': 'opt_name', 'value': 'opt_value',
     'opt_value': 'opt_value', 'ip-version': 'ip_version',
     'ip_version': 'ip_version'}, ('opt_name',))


def port_options(parser: argparse.ArgumentParser, setting: bool) -> None:
    parser.add_argument('--description', help='description')
    parser.add_argument('--fixed-ip', dest='fixed_ips', type=FIXED_IP,
                        action='append', default=[],
                        metavar='subnet=SUBNET,ip-address=IP',
                        help='an address: a subnet (name or ID), an IP, or '
                             'both (repeatable)')
    parser.add_argument('--no-fixed-ip', action='store_true',
                        help='no addresses (with --fixed-ip at set: only '
                             'the given ones)')
    parser.add_argument('--mac-address', help='MAC address (default: '
                        'allocated from base_mac)')
    parser.add_argument('--device', metavar='DEVICE_ID',
                        help='ID of the device using the port, e.g. a VM')
    parser.add_argument('--device-owner', help="e.g. 'compute:nova'")
    parser.add_argument('--host', help='binding:host_id, the host of the '
                        'device (admin)')
    parser.add_argument('--vnic-type', choices=VNIC_TYPES,
                        help='binding:vnic_type (default: normal)')
    parser.add_argument('--extra-dhcp-option', dest='extra_dhcp_options',
                        type=DHCP_OPTION, action='append', default=[],
                        metavar='name=NAME[,value=VALUE,ip-version={4,6}]',
                        help='a DHCP option for this port only '
                             '(repeatable)')
    common.toggle(parser, 'enable', '--enable', '--disable',
                  'admin state up (default)', 'admin state down')
    if not setting:
        parser.add_argument('--project', help='owning project (admin)')
    common.add_tag_options(parser, setting)


def _fixed_ips(client: Client, network_id: str,
               wanted: list[dict[str, str]]) -> list[dict[str, str]]:
    """--fixed-ip entries as the API wants them; a subnet may be named (a
    name of a subnet on the port's network)."""
    result = []
    for entry in wanted:
        fixed = common.only_set(ip_address=entry.get('ip_address'))
        if entry.get('subnet'):
            fixed['subnet_id'] = client.find_id('subnet', entry['subnet'],
                                                network_id=network_id)
        result.append(fixed)
    return result


def _dhcp_options(wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{**opt, 'opt_value': opt.get('opt_value'),
             **({'ip_version': int(opt['ip_version'])}
                if 'ip_version' in opt else {})} for opt in wanted]


def _port_body(args: argparse.Namespace) -> dict[str, Any]:
    return common.only_set(
        name=args.name, description=args.description,
        mac_address=args.mac_address, device_id=args.device,
        device_owner=args.device_owner, admin_state_up=args.enable,
        extra_dhcp_opts=_dhcp_options(args.extra_dhcp_options) or None,
        **{'binding:host_id': args.host, 'binding:vnic_type': args.vnic_type})


def port_create(args: argparse.Namespace) -> int:
    client = common.client_for(args)
    network_id = client.find_id('network', args.network)
    body = _port_body(args)
    body.update(common.only_set(network_id=network_id,
                                project_id=args.project,
                                tags=args.tags or None))
    if args.no_fixed_ip or args.fixed_ips:
        body['fixed_ips'] = _fixed_ips(client, network_id, args.fixed_ips)
    output.print_item(args, client.create('port', body))
    return 0


def port_list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--network', help='only ports of this network')
    parser.add_argument('--name', help='only ports of this name')
    parser.add_argument('--device-id', '--device', dest='device',
                        help='only ports of this device')
    parser.add_argument('--device-owner', help='only ports of this owner')
    parser.add_argument('--host', help='only ports bound to this host')
    parser.add_argument('--mac-address', help='only the port of this MAC')
    parser.add_argument('--fixed-ip', dest='fixed_ips', type=FIXED_IP,
                        action='append', default=[],
                        metavar='subnet=SUBNET,ip-address=IP',
                        help='only ports with this address or on this '
                             'subnet')
    parser.add_argument('--project', help='only ports of this project')
    parser.add_argument('--tag', dest='tags', action='append', default=[],
                        metavar='TAG',
                        help='only ports with this tag (repeatable)')
    parser.add_argument('--long', action='store_true', help='more columns')


def _fixed_ip_filters(client: Client, wanted: list[dict[str, str]]
                      ) -> list[str] | None:
    """Neutron's `fixed_ips=ip_address=X` and `fixed_ips=subnet_id=Y`."""
    result = []
    for entry in wanted:
        if entry.get('ip_address'):
            result.append(f"ip_address={entry['ip_address']}")
        if entry.get('subnet'):
            subnet = client.find_id('subnet', entry['subnet'])
            result.append(f'subnet_id={subnet}')
    return result or None


def port_list(args: argparse.Namespace) -> int:
    client = common.client_for(args)
    network = client.find_id('network', args.network) if args.network \
        else None
    items = client.list('ports', **common.only_set(
        network_id=network, name=args.name, device_id=args.device,
        device_owner=args.device_owner, mac_address=args.mac_address,
        project_id=args.project, tags=args.tags or None,
        fixed_ips=_fixed_ip_filters(client, args.fixed_ips),
        **{'binding:host_id': args.host}))
    output.print_list(args, PORT_LONG if args.long else PORT_COLUMNS, items)
    return 0


def port_set(args: argparse.Namespace) -> int:
    client = common.client_for(args)
    port = client.find('port', args.port)
    body = _port_body(args)
    added = _fixed_ips(client, port['network_id'], args.fixed_ips)
    fixed = common.extended(port.get('fixed_ips'), added, args.no_fixed_ip)
    if fixed is not None:
        body['fixed_ips'] = fixed
    common.apply_set(client, 'port', port, body, args)
    return 0


def register(sub: common.Subparsers) -> None:
    pt = common.group(sub, 'port', "ports: a device's attachment to a "
                      'network, with its MAC and IPs')
    p = common.add_command(pt, 'create', port_create, 'create a port', [
        'kaon port create --network demo-net vm1-port',
        'kaon port create --network demo-net --fixed-ip subnet=demo-subnet,'
        'ip-address=10.0.0.50 --extra-dhcp-option name=mtu,value=1400 p2'])
    p.add_argument('name', help='name of the new port')
    p.add_argument('--network', required=True, help='network name or ID')
    port_options(p, setting=False)
    p = common.add_command(pt, 'list', port_list, 'list ports', [
        'kaon port list --network demo-net',
        'kaon port list --fixed-ip ip-address=10.0.0.50 -f value -c ID'])
    port_list_options(p)
    p = common.add_command(pt, 'show', common.show_command('port'),
                           'show a port',
                           ['kaon port show vm1-port -c fixed_ips -f json'])
    p.add_argument('port', help='name or ID')
    p = common.add_command(pt, 'set', port_set, "change a port's attributes", [
        'kaon port set vm1-port --fixed-ip subnet=demo-subnet',
        'kaon port set vm1-port --no-fixed-ip --fixed-ip '
        'ip-address=10.0.0.60'], prints=False)
    p.add_argument('port', help='name or ID')
    p.add_argument('--name', help='new name')
    port_options(p, setting=True)
    p = common.add_command(pt, 'delete', common.delete_command('port'),
                           'delete ports', ['kaon port delete vm1-port p2'],
                           prints=False)
    p.add_argument('port', nargs='+', help='name or ID')
