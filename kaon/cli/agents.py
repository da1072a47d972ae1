"""`kaon agent list|show|set|delete`, `kaon network agent add|remove|list`
(which DHCP agents serve a network) and `kaon quota show|set`."""
from __future__ import annotations

import argparse

from kaon import constants
from kaon.cli import output
from kaon.cli.common import (
    Subparsers,
    add_command,
    apply_set,
    client_for,
    delete_command,
    group,
    only_set,
    show_command,
    toggle,
)

AGENT_COLUMNS = [('ID', 'id'), ('Agent Type', 'agent_type'),
                 ('Host', 'host'), ('Availability Zone', 'availability_zone'),
                 ('Alive', 'alive'), ('State', 'admin_state_up'),
                 ('Binary', 'binary')]
AGENT_LONG = AGENT_COLUMNS + [('Description', 'description'),
                              ('Last Heartbeat', 'heartbeat_timestamp')]
# openstack's --agent-type names of the agents kaon has (or may meet).
AGENT_TYPES = {'dhcp': constants.AGENT_TYPE_DHCP,
               'l3': constants.AGENT_TYPE_L3,
               'metadata': constants.AGENT_TYPE_METADATA,
               'open-vswitch': constants.AGENT_TYPE_OVS,
               'linux-bridge': constants.AGENT_TYPE_LINUXBRIDGE}
QUOTAS = ('network', 'subnet', 'port')


def agent_list(args: argparse.Namespace) -> int:
    """Every agent, or with --network the DHCP agents serving it."""
    client = client_for(args)
    if args.network:
        network = client.find_id('network', args.network)
        items = client.request('GET',
                               f'networks/{network}/dhcp-agents')['agents']
    else:
        items = client.list('agents', **only_set(
            host=args.host, agent_type=AGENT_TYPES.get(args.agent_type)))
    output.print_list(args, AGENT_LONG if args.long else AGENT_COLUMNS,
                      items)
    return 0


def agent_set(args: argparse.Namespace) -> int:
    client = client_for(args)
    agent = client.find('agent', args.agent, by_name=False)
    body = only_set(admin_state_up=args.enable, description=args.description)
    apply_set(client, 'agent', agent, body, args)
    return 0


def network_agent_add(args: argparse.Namespace) -> int:
    """Schedule the network to a DHCP agent (it serves it from now on)."""
    client = client_for(args)
    agent = client.find('agent', args.agent, by_name=False)['id']
    network = client.find_id('network', args.network)
    client.request('POST', f'agents/{agent}/dhcp-networks',
                   body={'network_id': network})
    return 0


def network_agent_remove(args: argparse.Namespace) -> int:
    client = client_for(args)
    agent = client.find('agent', args.agent, by_name=False)['id']
    network = client.find_id('network', args.network)
    client.request('DELETE', f'agents/{agent}/dhcp-networks/{network}')
    return 0


def quota_show(args: argparse.Namespace) -> int:
    """Named as openstack prints them: networks, subnets, ports."""
    path = f'quotas/{args.project}' + ('/default' if args.default else '')
    quota = client_for(args).request('GET', path)['quota']
    output.print_item(args, {f'{k}s': v for k, v in quota.items()})
    return 0


def quota_set(args: argparse.Namespace) -> int:
    body = only_set(**{k: getattr(args, f'{k}s') for k in QUOTAS})
    if body:
        client_for(args).request('PUT', f'quotas/{args.project}',
                                 body={'quota': body})
    return 0


def agent_list_options(parser: argparse.ArgumentParser,
                       by_network: bool = True) -> None:
    if by_network:
        parser.add_argument('--network', help='only the DHCP agents '
                            'serving this network (name or ID)')
    parser.add_argument('--host', help='only agents on this host')
    parser.add_argument('--agent-type', choices=sorted(AGENT_TYPES),
                        help='only agents of this type')
    parser.add_argument('--long', action='store_true', help='more columns')


def _agent_commands(sub: Subparsers, prefix: str) -> None:
    """list/show/set/delete, both as `agent X` and `network agent X`."""
    p = add_command(sub, 'list', agent_list, 'list agents', [
        f'kaon {prefix} list', f'kaon {prefix} list --network demo-net',
        f'kaon {prefix} list --agent-type dhcp -f value -c ID'])
    agent_list_options(p)
    p = add_command(sub, 'show', show_command('agent', by_name=False),
                    'show an agent', [f'kaon {prefix} show AGENT_ID'])
    p.add_argument('agent', help='ID')
    p = add_command(sub, 'set', agent_set, 'change an agent (admin state, '
                    'description)', [f'kaon {prefix} set --disable AGENT_ID'],
                    prints=False)
    p.add_argument('agent', help='ID')
    p.add_argument('--description', help='description')
    toggle(p, 'enable', '--enable', '--disable', 'admin state up: the '
           'agent gets networks', 'admin state down: no new networks')
    p = add_command(sub, 'delete', delete_command('agent', by_name=False),
                    'delete agents (a live one comes back at its next '
                    'report)', [f'kaon {prefix} delete AGENT_ID'],
                    prints=False)
    p.add_argument('agent', nargs='+', help='ID')


def register_network_agent(network: Subparsers) -> None:
    """`kaon network agent ...` (openstack's spelling of agent commands)."""
    na = group(network, 'agent', 'agents, and the networks DHCP agents serve')
    _agent_commands(na, 'network agent')
    for name, func, text, example in (
            ('add', network_agent_add, 'make a DHCP agent serve a network',
             'kaon network agent add --dhcp AGENT_ID demo-net'),
            ('remove', network_agent_remove, 'stop a DHCP agent serving a '
             'network', 'kaon network agent remove --dhcp AGENT_ID '
                        'demo-net')):
        p = add_command(na, name, func, text, [example], prints=False)
        p.add_argument('--dhcp', action='store_true',
                       help='a DHCP agent (the only kind; for openstack '
                            'compatibility)')
        p.add_argument('agent', help='agent ID')
        p.add_argument('network', help='network name or ID')


def register(sub: Subparsers) -> None:
    _agent_commands(group(sub, 'agent', 'agents (DHCP agents report '
                          'themselves)'), 'agent')
    qt = group(sub, 'quota', "projects' limits on networks, subnets, ports")
    p = add_command(qt, 'show', quota_show, "show a project's quota",
                    ['kaon quota show admin', 'kaon quota show --default p1'])
    p.add_argument('project', help='project ID')
    p.add_argument('--default', action='store_true',
                   help='the defaults, not what is set for the project')
    p = add_command(qt, 'set', quota_set, "set a project's quota (-1: "
                    'unlimited)', ['kaon quota set --networks 10 --ports -1 '
                                   'p1'], prints=False)
    p.add_argument('project', help='project ID')
    for name in QUOTAS:
        p.add_argument(f'--{name}s', type=int, metavar='N',
                       help=f'most {name}s the project may have')
