"""Project isolation behind a real Keystone: Neutron's default rules, both
ways, for networks, subnets, ports, quotas and agents.

alice (member of alpha) and bob (member of beta) are real Keystone users
with real tokens that kaon's auth_token validates against Keystone; the
admin is Keystone's bootstrap admin.  What a project may not see is 404,
what it sees but may not change is 403.
"""
from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest

from tests.support.keystone_cloud import Cloud
from tests.support.rest import Api, unique

PAIRS = [('alice', 'bob'), ('bob', 'alice')]
_octets = itertools.count(1)


def cidr() -> str:
    return f'10.77.{next(_octets)}.0/24'


def own_network(api: Api) -> tuple[dict, dict]:
    net = api.network()
    return net, api.subnet(net['id'], cidr())


@pytest.fixture(scope='module')
def shared(cloud: Cloud) -> dict[str, Any]:
    """The admin's shared network, with a subnet."""
    admin = cloud.api('admin')
    net = admin.network(shared=True)
    admin.subnet(net['id'], cidr())
    return admin.show('network', net['id'])


@pytest.mark.parametrize('owner,other', PAIRS)
def test_a_projects_network_is_invisible_to_the_other(
        cloud: Cloud, owner: str, other: str) -> None:
    mine, them = cloud.api(owner), cloud.api(other)
    net, subnet = own_network(mine)
    assert net['project_id'] == cloud.people[owner].project_id
    assert mine.show('network', net['id'])['id'] == net['id']
    assert net['id'] not in {n['id'] for n in them.list('networks')}
    assert subnet['id'] not in {s['id'] for s in them.list('subnets')}
    path = f"/v2.0/networks/{net['id']}"
    them.error(them.get(path), 404, 'NetworkNotFound')
    them.error(them.put(path, json={'network': {'name': 'x'}}), 404,
               'NetworkNotFound')
    them.error(them.delete(path), 404, 'NetworkNotFound')
    them.error(them.get(f"/v2.0/subnets/{subnet['id']}"), 404,
               'SubnetNotFound')
    them.error(them.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': cidr(), 'ip_version': 4}}), 404,
        'NetworkNotFound')
    them.error(them.post('/v2.0/ports', json={'port': {
        'network_id': net['id']}}), 404, 'NetworkNotFound')
    assert mine.show('network', net['id'])['name'] == net['name']


@pytest.mark.parametrize('owner,other', PAIRS)
def test_a_projects_port_is_invisible_to_the_other(
        cloud: Cloud, shared: dict, owner: str, other: str) -> None:
    mine, them = cloud.api(owner), cloud.api(other)
    port = mine.port(shared['id'], name=unique('port'))
    ip = port['fixed_ips'][0]['ip_address']
    assert port['id'] not in {p['id'] for p in them.list('ports')}
    assert them.list('ports', params={
        'fixed_ips': f'ip_address={ip}'}) == []
    path = f"/v2.0/ports/{port['id']}"
    them.error(them.get(path), 404, 'PortNotFound')
    them.error(them.put(path, json={'port': {'name': 'x'}}), 404,
               'PortNotFound')
    them.error(them.delete(path), 404, 'PortNotFound')
    assert mine.show('port', port['id'])['fixed_ips'][0]['ip_address'] == ip


def test_the_network_owner_sees_ports_others_put_on_its_network(
        cloud: Cloud) -> None:
    alice, admin = cloud.api('alice'), cloud.api('admin')
    net, _ = own_network(alice)
    port = admin.port(net['id'])   # the admin's, on alice's network
    assert port['project_id'] != cloud.people['alice'].project_id
    assert alice.show('port', port['id'])['id'] == port['id']
    assert port['id'] in {p['id'] for p in alice.list(
        'ports', params={'network_id': net['id']})}


@pytest.mark.parametrize('who', ['alice', 'bob'])
def test_shared_networks_are_readable_and_portable_by_all(
        cloud: Cloud, shared: dict, who: str) -> None:
    api = cloud.api(who)
    assert api.show('network', shared['id'])['shared'] is True
    assert shared['id'] in {n['id'] for n in api.list('networks')}
    assert set(shared['subnets']) <= {s['id'] for s in api.list('subnets')}
    port = api.port(shared['id'])
    assert port['project_id'] == cloud.people[who].project_id
    api.remove('port', port['id'])


@pytest.mark.parametrize('who', ['alice', 'bob'])
def test_a_shared_network_is_changed_only_by_its_owner(
        cloud: Cloud, shared: dict, who: str) -> None:
    api = cloud.api(who)
    path = f"/v2.0/networks/{shared['id']}"
    api.error(api.put(path, json={'network': {'name': 'mine'}}), 403,
              'PolicyNotAuthorized')
    api.error(api.delete(path), 403, 'PolicyNotAuthorized')
    api.error(api.post('/v2.0/subnets', json={'subnet': {
        'network_id': shared['id'], 'cidr': cidr(), 'ip_version': 4}}), 403,
        'PolicyNotAuthorized')


@pytest.mark.parametrize('attrs,rule', [
    ({'device_owner': 'network:dhcp'}, 'create_port:device_owner'),
    ({'mac_address': 'fa:16:3e:77:00:01'}, 'create_port:mac_address'),
    ({'binding:host_id': 'compute-9'}, 'create_port:binding:host_id'),
])
def test_members_cannot_set_infrastructure_attributes_on_shared_networks(
        cloud: Cloud, shared: dict, attrs: dict, rule: str) -> None:
    bob = cloud.api('bob')
    err = bob.error(bob.post('/v2.0/ports', json={'port': dict(
        attrs, network_id=shared['id'])}), 403, 'PolicyNotAuthorized')
    assert rule in err['message']


def test_members_cannot_pick_an_ip_on_a_shared_network(
        cloud: Cloud, shared: dict) -> None:
    bob = cloud.api('bob')
    subnet = shared['subnets'][0]
    bob.error(bob.post('/v2.0/ports', json={'port': {
        'network_id': shared['id'], 'fixed_ips': [
            {'subnet_id': subnet, 'ip_address': cidr().replace(
                '0/24', '9')}]}}), 403, 'PolicyNotAuthorized')
    port = bob.port(shared['id'], fixed_ips=[{'subnet_id': subnet}])
    assert port['fixed_ips'][0]['subnet_id'] == subnet


def test_on_its_own_network_a_member_picks_ips_macs_and_owners(
        cloud: Cloud) -> None:
    alice = cloud.api('alice')
    net, subnet = own_network(alice)
    ip = subnet['cidr'].replace('0/24', '42')
    port = alice.port(net['id'], mac_address='fa:16:3e:77:00:02',
                      device_owner='network:router_interface',
                      fixed_ips=[{'subnet_id': subnet['id'],
                                  'ip_address': ip}])
    assert port['fixed_ips'][0]['ip_address'] == ip
    assert port['mac_address'] == 'fa:16:3e:77:00:02'
    alice.error(alice.put(f"/v2.0/ports/{port['id']}", json={'port': {
        'mac_address': 'fa:16:3e:77:00:03'}}), 403, 'PolicyNotAuthorized')


def test_binding_host_is_hidden_from_members(cloud: Cloud) -> None:
    alice, admin = cloud.api('alice'), cloud.api('admin')
    net, _ = own_network(alice)
    port = alice.port(net['id'])
    assert 'binding:host_id' not in port
    admin.update('port', port['id'], **{'binding:host_id': 'compute-1'})
    assert admin.show('port', port['id'])['binding:host_id'] == 'compute-1'
    assert 'binding:host_id' not in alice.show('port', port['id'])
    alice.error(alice.get('/v2.0/ports', params={
        'binding:host_id': 'compute-1'}), 400)


@pytest.mark.parametrize('attr', ['shared', 'router:external'])
def test_only_the_admin_shares_or_externalises(cloud: Cloud,
                                                attr: str) -> None:
    alice = cloud.api('alice')
    alice.error(alice.post('/v2.0/networks', json={'network': {
        'name': unique('net'), attr: True}}), 403, 'PolicyNotAuthorized')
    net = alice.network()
    alice.error(alice.put(f"/v2.0/networks/{net['id']}", json={
        'network': {attr: True}}), 403, 'PolicyNotAuthorized')
    assert cloud.api('admin').network(**{attr: True})[attr] is True


@pytest.mark.parametrize('owner,other', PAIRS)
def test_members_create_only_in_their_own_project(
        cloud: Cloud, owner: str, other: str) -> None:
    api = cloud.api(owner)
    err = api.error(api.post('/v2.0/networks', json={'network': {
        'name': unique('net'),
        'project_id': cloud.people[other].project_id}}), 400)
    assert 'requires admin privileges' in err['message']
    net = cloud.api('admin').network(
        project_id=cloud.people[other].project_id)
    assert net['id'] in {n['id'] for n in cloud.api(other).list('networks')}


@pytest.mark.parametrize('owner,other', PAIRS)
def test_quotas_are_read_by_their_project_and_set_by_the_admin(
        cloud: Cloud, owner: str, other: str) -> None:
    api, admin = cloud.api(owner), cloud.api('admin')
    mine = cloud.people[owner].project_id
    theirs = cloud.people[other].project_id
    assert api.ok(api.get(f'/v2.0/quotas/{mine}'))['quota']['network'] > 0
    api.error(api.get(f'/v2.0/quotas/{theirs}'), 403, 'PolicyNotAuthorized')
    api.error(api.get('/v2.0/quotas'), 403, 'PolicyNotAuthorized')
    for project in (mine, theirs):
        api.error(api.put(f'/v2.0/quotas/{project}', json={'quota': {
            'network': 1000}}), 403, 'PolicyNotAuthorized')
        api.error(api.delete(f'/v2.0/quotas/{project}'), 403,
                  'PolicyNotAuthorized')
    assert api.ok(api.get('/v2.0/quotas/tenant'))['tenant'][
        'tenant_id'] == mine
    admin.ok(admin.put(f'/v2.0/quotas/{mine}', json={'quota': {
        'port': 600}}))
    assert api.ok(api.get(f'/v2.0/quotas/{mine}'))['quota']['port'] == 600


@pytest.mark.parametrize('who', ['alice', 'bob'])
def test_members_cannot_see_the_admins_agents(cloud: Cloud, agent: dict,
                                              who: str) -> None:
    api, admin = cloud.api(who), cloud.api('admin')
    assert agent['id'] in {a['id'] for a in admin.list('agents')}
    assert api.list('agents') == []
    path = f"/v2.0/agents/{agent['id']}"
    api.error(api.get(path), 404, 'AgentNotFound')
    api.error(api.put(path, json={'agent': {'admin_state_up': False}}),
              404, 'AgentNotFound')
    api.error(api.delete(path), 404, 'AgentNotFound')
    api.error(api.get(f'{path}/dhcp-networks'), 403, 'PolicyNotAuthorized')
    net = api.network()
    api.error(api.get(f"/v2.0/networks/{net['id']}/dhcp-agents"), 403,
              'PolicyNotAuthorized')
    api.error(api.post(f'{path}/dhcp-networks', json={
        'network_id': net['id']}), 403, 'PolicyNotAuthorized')
    assert admin.show('agent', agent['id'])['admin_state_up'] is True


def test_a_request_without_a_token_is_401(cloud: Cloud) -> None:
    anonymous = cloud.api(None)
    for method, path in (('GET', '/v2.0/networks'),
                         ('POST', '/v2.0/networks'),
                         ('GET', '/v2.0/agents')):
        resp = anonymous.request(method, path, json={'network': {}})
        assert resp.status_code == 401, resp.text
        assert cloud.keystone.auth_url in resp.headers['WWW-Authenticate']
    assert anonymous.get('/').status_code == 200   # version discovery


def _with_token(cloud: Cloud, token: str) -> Api:
    api = Api(cloud.url)
    api.session.headers['X-Auth-Token'] = token
    return api


def test_a_garbage_token_is_401(cloud: Cloud) -> None:
    for token in ('garbage', uuid.uuid4().hex, 'gAAAAA' + 'x' * 180):
        assert _with_token(cloud, token).get(
            '/v2.0/networks').status_code == 401


def test_an_expired_token_is_401(cloud: Cloud) -> None:
    p = cloud.people['alice']
    token = cloud.keystone.expired_token(p.user, p.password, p.project)
    assert _with_token(cloud, token).get('/v2.0/networks').status_code == 401


def test_a_revoked_token_is_401(cloud: Cloud) -> None:
    p = cloud.people['bob']
    token = cloud.keystone.token(p.user, p.password, p.project)
    cloud.keystone.revoke(token)
    # Revoked before kaon saw it: auth_token caches a token it validated
    # for token_cache_time (300 s), as it does in Neutron.
    assert _with_token(cloud, token).get('/v2.0/networks'
                                         ).status_code == 401
