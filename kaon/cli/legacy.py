"""The neutron CLI's spelling (`net-create`, `subnet-create NET CIDR`,
`port-create NET`, ...), as the seed's docs and many scripts use it.

Nothing here talks to the API: each command is a parser that fills the same
Namespace as its openstack-style twin (same option helpers, plus
neutronclient's names for them) and hands it to the same handler.
"""
from __future__ import annotations

import argparse
from typing import Callable

from kaon.cli import agents, ports, resources
from kaon.cli.common import (
    Handler,
    Subparsers,
    add_command,
    boolean,
    delete_command,
    show_command,
)

Parser = argparse.ArgumentParser


def _tenant(p: Parser) -> None:
    p.add_argument('--tenant-id', dest='project', help='owning project '
                   '(admin; = --project)')


def _admin_state(p: Parser) -> None:
    p.add_argument('--admin-state-down', dest='enable', action='store_const',
                   const=False, help='admin state down (= --disable)')


def _dhcp(p: Parser) -> None:
    """neutronclient's --enable-dhcp / --disable-dhcp, and the generic
    `--enable_dhcp true|false` form its extra-attribute parsing took."""
    for flag in ('--enable_dhcp', '--enable-dhcp'):
        p.add_argument(flag, dest='dhcp', nargs='?', const=True,
                       type=boolean, metavar='true|false',
                       help='DHCP on (or off with false) (= --dhcp)')
    p.add_argument('--disable-dhcp', dest='dhcp', action='store_const',
                   const=False, help='no DHCP (= --no-dhcp)')
    p.add_argument('--no-gateway', dest='gateway', action='store_const',
                   const='none', help='no gateway (= --gateway none)')


def _port_aliases(p: Parser) -> None:
    _admin_state(p)
    p.add_argument('--device-id', dest='device', help='= --device')
    p.add_argument('--extra-dhcp-opt', dest='extra_dhcp_options',
                   type=ports.DHCP_OPTION, action='append',
                   metavar='opt_name=NAME,opt_value=VALUE[,ip_version=4|6]',
                   help='= --extra-dhcp-option (repeatable)')


def _name(p: Parser) -> None:
    p.add_argument('--name', help='name')


def _network_create(p: Parser) -> None:
    p.add_argument('name', help='name of the new network')
    resources.network_options(p, setting=False)
    _admin_state(p)
    p.add_argument('--shared', dest='share', action='store_const',
                   const=True, help='= --share')
    _tenant(p)


def _network_update(p: Parser) -> None:
    p.add_argument('network', help='name or ID')
    _name(p)
    resources.network_options(p, setting=True)
    _admin_state(p)


def _subnet_create(p: Parser) -> None:
    p.add_argument('network', help='network name or ID')
    p.add_argument('subnet_range', metavar='CIDR', help='e.g. 10.0.0.0/24')
    _name(p)
    resources.subnet_options(p, setting=False)
    _dhcp(p)
    _tenant(p)


def _subnet_update(p: Parser) -> None:
    p.add_argument('subnet', help='name or ID')
    _name(p)
    resources.subnet_options(p, setting=True)
    _dhcp(p)


def _port_create(p: Parser) -> None:
    p.add_argument('network', help='network name or ID')
    _name(p)
    ports.port_options(p, setting=False)
    _port_aliases(p)
    _tenant(p)


def _port_update(p: Parser) -> None:
    p.add_argument('port', help='name or ID')
    _name(p)
    ports.port_options(p, setting=True)
    _port_aliases(p)


def _one(resource: str, many: bool = False) -> Callable[[Parser], None]:
    """The positional NAME_OR_ID of show/delete (agents: ID only)."""
    what = 'ID' if resource == 'agent' else 'name or ID'

    def add(p: Parser) -> None:
        p.add_argument(resource, nargs='+' if many else None,
                       help=f'{resource} {what}')
    return add


def _agent_update(p: Parser) -> None:
    p.add_argument('agent', help='ID')
    p.add_argument('--description', help='description')
    p.add_argument('--admin-state-up', dest='enable', type=boolean,
                   metavar='true|false', help='admin state')


def _agent_network(p: Parser) -> None:
    p.add_argument('agent', help='DHCP agent ID')
    p.add_argument('network', help='network name or ID')


def _networks_on_agent(p: Parser) -> None:
    p.add_argument('agent', help='DHCP agent ID')
    resources.network_list_options(p, by_agent=False)


def _agents_of_network(p: Parser) -> None:
    p.add_argument('network', help='network name or ID')
    agents.agent_list_options(p, by_network=False)


def _quota(p: Parser) -> None:
    p.add_argument('--tenant-id', dest='project', required=True,
                   help='project ID')
    p.set_defaults(default=False)


def _quota_update(p: Parser) -> None:
    _quota(p)
    for name in agents.QUOTAS:
        p.add_argument(f'--{name}', dest=f'{name}s', type=int, metavar='N',
                       help=f'most {name}s (-1: unlimited)')


def _listing(options: Callable[[Parser], None]) -> Callable[[Parser], None]:
    def add(p: Parser) -> None:
        options(p)
        _tenant(p)
    return add


# name, handler, twin, arguments, example, prints
COMMANDS: list[tuple[str, Handler, str, Callable[[Parser], None], str,
                     bool]] = [
    ('net-create', resources.network_create, 'network create',
     _network_create, 'kaon net-create demo-net', True),
    ('net-list', resources.network_list, 'network list',
     _listing(resources.network_list_options), 'kaon net-list', True),
    ('net-show', show_command('network'), 'network show', _one('network'),
     'kaon net-show demo-net', True),
    ('net-update', resources.network_set, 'network set', _network_update,
     'kaon net-update demo-net --name net2', False),
    ('net-delete', delete_command('network'), 'network delete',
     _one('network', many=True), 'kaon net-delete demo-net', False),
    ('subnet-create', resources.subnet_create, 'subnet create',
     _subnet_create, 'kaon subnet-create demo-net 1.1.1.0/24 --name '
     'demo-subnet --gateway 1.1.1.1 --enable_dhcp true', True),
    ('subnet-list', resources.subnet_list, 'subnet list',
     _listing(resources.subnet_list_options), 'kaon subnet-list', True),
    ('subnet-show', show_command('subnet'), 'subnet show', _one('subnet'),
     'kaon subnet-show demo-subnet', True),
    ('subnet-update', resources.subnet_set, 'subnet set', _subnet_update,
     'kaon subnet-update demo-subnet --disable-dhcp', False),
    ('subnet-delete', delete_command('subnet'), 'subnet delete',
     _one('subnet', many=True), 'kaon subnet-delete demo-subnet', False),
    ('port-create', ports.port_create, 'port create', _port_create,
     'kaon port-create demo-net --fixed-ip subnet_id=demo-subnet,'
     'ip_address=1.1.1.10', True),
    ('port-list', ports.port_list, 'port list',
     _listing(ports.port_list_options), 'kaon port-list', True),
    ('port-show', show_command('port'), 'port show', _one('port'),
     'kaon port-show PORT_ID', True),
    ('port-update', ports.port_set, 'port set', _port_update,
     'kaon port-update PORT_ID --name vm1-port', False),
    ('port-delete', delete_command('port'), 'port delete',
     _one('port', many=True), 'kaon port-delete PORT_ID', False),
    ('agent-list', agents.agent_list, 'agent list',
     agents.agent_list_options, 'kaon agent-list', True),
    ('agent-show', show_command('agent', by_name=False), 'agent show',
     _one('agent'), 'kaon agent-show AGENT_ID', True),
    ('agent-update', agents.agent_set, 'agent set', _agent_update,
     'kaon agent-update AGENT_ID --admin-state-up false', False),
    ('agent-delete', delete_command('agent', by_name=False), 'agent delete',
     _one('agent', many=True), 'kaon agent-delete AGENT_ID', False),
    ('dhcp-agent-network-add', agents.network_agent_add,
     'network agent add', _agent_network,
     'kaon dhcp-agent-network-add AGENT_ID demo-net', False),
    ('dhcp-agent-network-remove', agents.network_agent_remove,
     'network agent remove', _agent_network,
     'kaon dhcp-agent-network-remove AGENT_ID demo-net', False),
    ('net-list-on-dhcp-agent', resources.network_list,
     'network list --agent', _networks_on_agent,
     'kaon net-list-on-dhcp-agent AGENT_ID', True),
    ('dhcp-agent-list-hosting-net', agents.agent_list,
     'network agent list --network', _agents_of_network,
     'kaon dhcp-agent-list-hosting-net demo-net', True),
    ('quota-show', agents.quota_show, 'quota show', _quota,
     'kaon quota-show --tenant-id admin', True),
    ('quota-update', agents.quota_set, 'quota set', _quota_update,
     'kaon quota-update --tenant-id p1 --network 10 --port -1', False),
]


def register(sub: Subparsers) -> None:
    for name, handler, twin, arguments, example, prints in COMMANDS:
        # Left out of `kaon --help`'s list: the twins are the ones to learn.
        p = add_command(sub, name, handler, f'neutron CLI spelling of '
                        f'`kaon {twin}`', [example], prints=prints,
                        listed=False)
        arguments(p)
