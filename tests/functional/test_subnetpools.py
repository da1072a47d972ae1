"""Subnet pools (Neutron's subnet_allocation) over real HTTP: the pool
resource with Neutron's attributes, defaults and errors, and subnets whose
CIDR is allocated from a pool."""
from __future__ import annotations

import ipaddress

import pytest

from tests.support.rest import unique


def _pool(api, headers=None, **attrs) -> dict:
    attrs.setdefault('name', unique('pool'))
    return api.create('subnetpool', headers=headers, **attrs)


def _from_pool(api, net_id, pool_id, headers=None, **attrs):
    body = dict(network_id=net_id, subnetpool_id=pool_id, **attrs)
    body.setdefault('ip_version', 4)
    return api.post('/v2.0/subnets', json={'subnet': body}, headers=headers)


def test_pool_attributes_defaults_and_revisions(api, member, project):
    headers = member(project)
    pool = _pool(api, headers, description='d', tags=['t1'],
                 prefixes=['10.64.1.0/24', '10.64.0.0/24', '10.64.0.0/25'],
                 min_prefixlen='26')
    # Overlapping and neighbouring prefixes are merged; the version is the
    # prefixes'; lengths given as strings are numbers; default = min.
    assert pool['prefixes'] == ['10.64.0.0/23']
    assert (pool['ip_version'], pool['min_prefixlen'], pool['max_prefixlen'],
            pool['default_prefixlen']) == (4, 26, 32, 26)
    assert pool['project_id'] == pool['tenant_id'] == project
    assert (pool['shared'], pool['is_default'], pool['default_quota'],
            pool['address_scope_id']) == (False, False, None, None)
    assert (pool['description'], pool['tags'], pool['revision_number']) == \
        ('d', ['t1'], 0)
    assert pool['created_at'] == pool['updated_at']
    v6 = _pool(api, headers, prefixes=['2001:db8:64::/48'])
    assert (v6['ip_version'], v6['min_prefixlen'], v6['max_prefixlen'],
            v6['default_prefixlen']) == (6, 64, 128, 64)

    updated = api.update('subnetpool', pool['id'], headers=headers,
                         name='renamed', min_prefixlen='25',
                         max_prefixlen='30',
                         prefixes=['10.64.0.0/23', '10.64.8.0/24'])
    assert updated['revision_number'] == 1
    assert updated['created_at'] == pool['created_at']
    assert (updated['min_prefixlen'], updated['max_prefixlen'],
            updated['default_prefixlen']) == (25, 30, 26)
    assert updated['prefixes'] == ['10.64.0.0/23', '10.64.8.0/24']
    assert api.show('subnetpool', pool['id'], headers=headers) == updated
    # An admin's update bumps it too (tempest's revision test).
    assert api.update('subnetpool', pool['id'],
                      name='sp2')['revision_number'] == 2
    found = api.list('subnetpools', {'name': 'sp2'}, headers=headers)
    assert [p['id'] for p in found] == [pool['id']]
    assert [p['id'] for p in api.list('subnetpools', {
        'ip_version': 6, 'project_id': project})] == [v6['id']]
    api.remove('subnetpool', pool['id'], headers=headers)
    api.error(api.get(f"/v2.0/subnetpools/{pool['id']}"), 404,
              'SubnetPoolNotFound', pool['id'])


@pytest.mark.parametrize('attrs, type_, message', [
    ({'prefixes': []}, 'EmptySubnetPoolPrefixList', 'Empty subnet pool'),
    ({'prefixes': ['10.65.0.0/24', '2001:db8:65::/64']},
     'PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6'),
    ({'prefixes': ['10.65.0.0/24'], 'min_prefixlen': 28,
      'max_prefixlen': 26}, 'IllegalSubnetPoolPrefixBounds',
     'min_prefixlen=28, max_prefixlen=26'),
    ({'prefixes': ['10.65.0.0/24'], 'max_prefixlen': 33},
     'IllegalSubnetPoolPrefixBounds', 'max_prefixlen=33, ip_version_max=32'),
    ({'prefixes': ['10.65.0.0/24'], 'min_prefixlen': 24,
      'default_prefixlen': 20}, 'IllegalSubnetPoolPrefixBounds',
     'default_prefixlen=20, min_prefixlen=24'),
    ({'prefixes': ['10.65.0.0/24'], 'max_prefixlen': 28,
      'default_prefixlen': 29}, 'IllegalSubnetPoolPrefixBounds',
     'default_prefixlen=29, max_prefixlen=28'),
    ({'prefixes': ['10.65.0.1/24']}, 'HTTPBadRequest', 'prefixes'),
    ({'prefixes': '10.65.0.0/24'}, 'HTTPBadRequest', 'prefixes'),
    ({'prefixes': ['10.65.0.0/24'], 'min_prefixlen': -1},
     'HTTPBadRequest', 'min_prefixlen'),
    ({'prefixes': ['10.65.0.0/24'], 'default_quota': 'lots'},
     'HTTPBadRequest', 'default_quota'),
    ({'prefixes': ['10.65.0.0/24'], 'name': ' '}, 'HTTPBadRequest',
     'Blank strings'),
    ({'prefixes': ['10.65.0.0/24'], 'address_scope_id': None},
     'HTTPBadRequest', 'address_scope_id'),
])
def test_bad_pools_are_400_and_not_created(api, attrs, type_, message):
    name = unique('bad')
    attrs = dict({'name': name}, **attrs)
    resp = api.post('/v2.0/subnetpools', json={'subnetpool': attrs})
    api.error(resp, 400, type_, message)
    assert api.list('subnetpools', {'name': name}) == []


def test_required_attributes(api):
    for attrs in ({'name': unique()}, {'prefixes': ['10.65.0.0/24']}):
        api.error(api.post('/v2.0/subnetpools', json={'subnetpool': attrs}),
                  400, 'HTTPBadRequest', 'Required attribute')


def test_update_rules(api, member, project):
    headers = member(project)
    pool = _pool(api, headers, prefixes=['10.66.0.0/24'])
    for attrs, type_ in (
            ({'prefixes': ['10.66.0.0/25']}, 'IllegalSubnetPoolPrefixUpdate'),
            ({'prefixes': ['10.67.0.0/24']}, 'IllegalSubnetPoolPrefixUpdate'),
            ({'prefixes': ['2001:db8::/64']}, 'IllegalSubnetPoolPrefixUpdate'),
            ({'min_prefixlen': 30, 'default_prefixlen': 29},
             'IllegalSubnetPoolPrefixBounds'),
            ({'max_prefixlen': 7}, 'IllegalSubnetPoolPrefixBounds'),
            ({'shared': True}, 'HTTPBadRequest')):
        resp = api.put(f"/v2.0/subnetpools/{pool['id']}", headers=headers,
                       json={'subnetpool': attrs})
        api.error(resp, 400, type_)
    assert api.show('subnetpool', pool['id']) == pool


def test_access_rules(api, member, project):
    headers = member(project)
    other = member(unique('proj'))
    api.error(api.post('/v2.0/subnetpools', headers=headers, json={
        'subnetpool': {'name': unique(), 'prefixes': ['10.68.0.0/24'],
                       'shared': True}}), 403, 'PolicyNotAuthorized')
    api.error(api.post('/v2.0/subnetpools', headers=headers, json={
        'subnetpool': {'name': unique(), 'prefixes': ['10.68.0.0/24'],
                       'is_default': True}}), 403, 'PolicyNotAuthorized')
    own = _pool(api, headers, prefixes=['10.68.0.0/24'])
    shared = _pool(api, prefixes=['10.69.0.0/24'], shared=True)
    # Another project sees the shared pool only, and changes neither.
    seen = {p['id'] for p in api.list('subnetpools', headers=other)}
    assert shared['id'] in seen and own['id'] not in seen
    api.error(api.get(f"/v2.0/subnetpools/{own['id']}", headers=other),
              404, 'SubnetPoolNotFound')
    api.error(api.put(f"/v2.0/subnetpools/{shared['id']}", headers=other,
                      json={'subnetpool': {'name': 'x'}}), 403)
    api.error(api.delete(f"/v2.0/subnetpools/{own['id']}", headers=other),
              404, 'SubnetPoolNotFound')


def test_one_default_pool_per_ip_version(api):
    first = _pool(api, prefixes=['10.71.0.0/24'], is_default=True)
    try:
        resp = api.post('/v2.0/subnetpools', json={'subnetpool': {
            'name': unique(), 'prefixes': ['10.72.0.0/24'],
            'is_default': True}})
        api.error(resp, 400, 'InvalidInput', 'A default subnetpool')
        other = _pool(api, prefixes=['10.72.0.0/24'])
        resp = api.put(f"/v2.0/subnetpools/{other['id']}",
                       json={'subnetpool': {'is_default': True}})
        api.error(resp, 400, 'InvalidInput')
        # An IPv6 default is another family.
        v6 = _pool(api, prefixes=['2001:db8:72::/48'], is_default=True)
        api.remove('subnetpool', v6['id'])
    finally:
        api.update('subnetpool', first['id'], is_default=False)


def test_subnets_from_a_pool(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    pool = _pool(api, headers, prefixes=['10.73.0.0/24'], min_prefixlen=26,
                 max_prefixlen=28, default_prefixlen=26)

    def alloc(**attrs):
        return api.ok(_from_pool(api, net['id'], pool['id'], headers,
                                 **attrs), 201)['subnet']

    first = alloc()
    assert first['cidr'] == '10.73.0.0/26' and \
        first['subnetpool_id'] == pool['id']
    assert first['gateway_ip'] == '10.73.0.1'
    small = alloc(prefixlen=28)
    assert small['cidr'] == '10.73.0.64/28'
    specific = alloc(cidr='10.73.0.192/26', gateway_ip='10.73.0.254')
    assert specific['gateway_ip'] == '10.73.0.254'
    # What stays: 10.73.0.80/28, .96/27 and .128/26.
    for attrs, status, type_ in (
            ({'cidr': '10.73.0.192/27'}, 409, 'SubnetAllocationError'),
            ({'cidr': '10.74.0.0/26'}, 409, 'SubnetAllocationError'),
            ({'prefixlen': 29}, 400, 'MaxPrefixSubnetAllocationError'),
            ({'prefixlen': 25}, 400, 'MinPrefixSubnetAllocationError'),
            ({'cidr': '10.73.0.128/25'}, 400,
             'MinPrefixSubnetAllocationError'),
            ({'cidr': '10.73.0.128/26', 'prefixlen': 26}, 400, 'BadRequest'),
            ({'ip_version': 6}, 400, 'BadRequest'),
            ({'allocation_pools': [{'start': '10.73.0.130',
                                    'end': '10.73.0.140'}]}, 400,
             'BadRequest')):
        api.error(_from_pool(api, net['id'], pool['id'], headers, **attrs),
                  status, type_)
    assert alloc()['cidr'] == '10.73.0.128/26'
    assert alloc(prefixlen=27)['cidr'] == '10.73.0.96/27'
    assert alloc(prefixlen=28)['cidr'] == '10.73.0.80/28'
    resp = _from_pool(api, net['id'], pool['id'], headers, prefixlen=28)
    api.error(resp, 409, 'SubnetAllocationError',
              'Insufficient prefix space to allocate subnet size /28')
    listed = api.list('subnets', {'subnetpool_id': pool['id']},
                      headers=headers)
    assert len(listed) == 6
    # In use: the pool stays; a freed prefix is allocated again.
    api.error(api.delete(f"/v2.0/subnetpools/{pool['id']}", headers=headers),
              400, 'SubnetPoolDeleteError')
    api.remove('subnet', first['id'], headers=headers)
    assert alloc()['cidr'] == '10.73.0.0/26'
    # A subnet without a pool still needs a cidr.
    resp = api.post('/v2.0/subnets', headers=headers, json={'subnet': {
        'network_id': net['id'], 'ip_version': 4}})
    api.error(resp, 400, 'BadRequest', 'a subnetpool must be specified')


def test_pool_visibility_and_quota(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    hidden = _pool(api, member(unique('proj')), prefixes=['10.75.0.0/24'])
    api.error(_from_pool(api, net['id'], hidden['id'], headers,
                         prefixlen=28), 404, 'SubnetPoolNotFound')
    # A shared pool serves every project, within its per-project quota
    # (IPv4: in addresses): 32 addresses is two /28s.
    shared = _pool(api, prefixes=['10.76.0.0/24'], shared=True,
                   default_quota=32, min_prefixlen=24)
    for _ in range(2):
        api.ok(_from_pool(api, net['id'], shared['id'], headers,
                          prefixlen=28), 201)
    api.error(_from_pool(api, net['id'], shared['id'], headers,
                         prefixlen=28), 409, 'SubnetPoolQuotaExceeded')
    others = member(unique('proj'))
    net2 = api.network(headers=others)
    sub = api.ok(_from_pool(api, net2['id'], shared['id'], others,
                            prefixlen=28), 201)['subnet']
    assert sub['cidr'] == '10.76.0.32/28'


def test_ipv6_pool(api):
    net = api.network()
    pool = _pool(api, prefixes=['2001:db8:77::/48'], default_prefixlen=64)
    cidrs = [api.ok(_from_pool(api, net['id'], pool['id'], ip_version=6),
                    201)['subnet']['cidr'] for _ in range(2)]
    assert cidrs == ['2001:db8:77::/64', '2001:db8:77:1::/64']
    assert all(ipaddress.ip_network(c).subnet_of(
        ipaddress.ip_network('2001:db8:77::/48')) for c in cidrs)


def test_extension_is_listed(api):
    aliases = {e['alias'] for e in
               api.ok(api.get('/v2.0/extensions'))['extensions']}
    assert 'subnet_allocation' in aliases
