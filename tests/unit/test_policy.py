"""Neutron's default rules as kaon registers them, asked of oslo.policy.

No mocks: the real Enforcer with kaon's defaults and no policy file.
"""
from __future__ import annotations

import threading
from typing import Any

import pytest

from kaon import conf
from kaon.context import Context
from kaon.policy import defaults, enforcer

ADMIN = Context(project_id='p-admin', roles=('admin', 'member', 'reader'),
                is_admin=True)
ALICE = Context(project_id='p-alice', roles=('member', 'reader'))
BOB = Context(project_id='p-bob', roles=('member', 'reader'))
READER = Context(project_id='p-alice', roles=('reader',))
NOVA = Context(project_id='service', roles=('service',))
POLICY = enforcer.Policy()     # an app's own; this module's app is the tests


@pytest.fixture(autouse=True, scope='module')
def _no_policy_file() -> Any:
    conf.load()
    POLICY.reset()
    yield
    POLICY.reset()


def network(owner: str, shared: bool = False) -> dict[str, Any]:
    return {'project_id': owner, 'tenant_id': owner, 'shared': shared,
            'router:external': False}


def port(owner: str, net_owner: str, shared: bool = False,
         **attrs: Any) -> dict[str, Any]:
    return {'project_id': owner, 'tenant_id': owner,
            'network:project_id': net_owner, 'network:tenant_id': net_owner,
            'network:shared': shared, **attrs}


def allowed(ctx: Context, action: str, target: dict[str, Any]) -> bool:
    return POLICY.allowed(ctx, action, target)


def test_the_admin_role_makes_the_admin() -> None:
    assert POLICY.is_admin(('admin',), 'x')
    assert not POLICY.is_admin(('member', 'reader'), 'x')


@pytest.mark.parametrize('action', ['get_network', 'update_network',
                                    'delete_network'])
def test_networks_are_their_projects_and_the_admins(action: str) -> None:
    target = network('p-alice')
    assert allowed(ALICE, action, target)
    assert allowed(ADMIN, action, target)
    assert not allowed(BOB, action, target)


def test_a_reader_reads_but_does_not_write() -> None:
    target = network('p-alice')
    assert allowed(READER, 'get_network', target)
    assert not allowed(READER, 'update_network', target)
    assert not allowed(READER, 'create_network', target)


def test_shared_networks_are_readable_by_all_writable_by_owner() -> None:
    target = network('p-alice', shared=True)
    assert allowed(BOB, 'get_network', target)
    assert not allowed(BOB, 'update_network', target)


def test_only_the_admin_shares_a_network() -> None:
    target = network('p-alice', shared=True)
    assert not allowed(ALICE, 'create_network:shared', target)
    assert not allowed(ALICE, 'update_network:shared', target)
    assert allowed(ADMIN, 'create_network:shared', target)


def test_subnets_go_on_the_callers_own_networks_only() -> None:
    own = port('p-alice', 'p-alice')
    shared = port('p-alice', 'p-admin', shared=True)
    assert allowed(ALICE, 'create_subnet', own)
    assert not allowed(ALICE, 'create_subnet', shared)
    assert allowed(BOB, 'get_subnet', dict(shared, project_id='p-admin',
                                           tenant_id='p-admin'))


def test_ports_on_a_shared_network_but_no_infrastructure_owners() -> None:
    target = port('p-bob', 'p-admin', shared=True,
                  device_owner='network:dhcp')
    assert allowed(BOB, 'create_port', target)
    assert not allowed(BOB, 'create_port:device_owner', target)
    assert allowed(BOB, 'create_port:device_owner',
                   dict(target, device_owner='compute:nova'))
    assert allowed(ALICE, 'create_port:device_owner',
                   port('p-alice', 'p-alice', device_owner='network:dhcp'))


@pytest.mark.parametrize('rule', ['create_port:mac_address',
                                  'create_port:fixed_ips:ip_address'])
def test_addresses_are_chosen_only_by_the_networks_owner(rule: str) -> None:
    assert not allowed(BOB, rule, port('p-bob', 'p-admin', shared=True))
    assert allowed(ALICE, rule, port('p-alice', 'p-alice'))
    assert allowed(ADMIN, rule, port('p-bob', 'p-alice'))


def test_a_subnet_may_be_chosen_on_a_shared_network() -> None:
    rule = 'create_port:fixed_ips:subnet_id'
    assert allowed(BOB, rule, port('p-bob', 'p-admin', shared=True))
    assert not allowed(BOB, rule, port('p-bob', 'p-admin', shared=False))


def test_the_network_owner_sees_and_deletes_ports_on_it() -> None:
    target = port('p-bob', 'p-alice')
    assert allowed(ALICE, 'get_port', target)
    assert allowed(ALICE, 'delete_port', target)
    assert not allowed(ALICE, 'update_port', target)


def test_binding_host_is_for_the_admin_and_nova() -> None:
    target = port('p-alice', 'p-alice')
    for action in ('create_port:binding:host_id', 'get_port:binding:host_id'):
        assert not allowed(ALICE, action, target)
        assert allowed(ADMIN, action, target)
        assert allowed(NOVA, action, target)


def test_macs_change_only_by_the_admin() -> None:
    assert not allowed(ALICE, 'update_port:mac_address',
                       port('p-alice', 'p-alice'))


@pytest.mark.parametrize('action', ['get_agent', 'update_agent',
                                    'delete_agent', 'get_dhcp-agents',
                                    'create_dhcp-network'])
def test_agents_and_scheduling_are_the_admins(action: str) -> None:
    assert not allowed(ALICE, action, {})
    assert allowed(ADMIN, action, {})


def test_quotas_are_read_by_their_project_and_set_by_the_admin() -> None:
    own = {'project_id': 'p-alice', 'tenant_id': 'p-alice'}
    assert allowed(ALICE, 'get_quota', own)
    assert not allowed(BOB, 'get_quota', own)
    assert not allowed(ALICE, 'update_quota', own)
    assert allowed(ADMIN, 'update_quota', own)


def test_neutrons_field_check_reads_the_network_of_a_port() -> None:
    from oslo_policy import _parser
    check = _parser.parse_rule('field:networks:shared=True')
    assert check(port('p', 'q', shared=True), {}, None)
    assert not check(port('p', 'q', shared=False), {}, None)
    assert check(network('p', shared=True), {}, None)
    regex = _parser.parse_rule('field:port:device_owner=~^network:')
    assert regex({'device_owner': 'network:dhcp'}, {}, None)
    assert not regex({'device_owner': 'compute:nova'}, {}, None)
    assert not regex({}, {}, None)


def test_every_action_the_api_asks_about_has_a_default() -> None:
    names = {rule.name for rule in defaults.list_rules()}
    for resource in ('network', 'subnet', 'port'):
        for verb in ('create', 'get', 'update', 'delete'):
            assert f'{verb}_{resource}' in names


def test_checks_while_the_rules_load_see_every_rule() -> None:
    """The first checks of a fresh server come from many threads at once;
    none may catch the rules half-loaded (it would refuse the admin)."""
    refused = []

    def check(start: threading.Barrier) -> None:
        start.wait()
        if not allowed(ADMIN, 'create_port', {'project_id': 'p-admin'}):
            refused.append(1)

    for _ in range(30):
        POLICY.reset()
        start = threading.Barrier(8)
        threads = [threading.Thread(target=check, args=(start,))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not refused, f'{len(refused)} of 240 first checks refused'
