"""Bad input, conflicts, quotas and access rules, over real HTTP.

Every error must leave as Neutron's NeutronError JSON with Neutron's status
code and exception type (see Api.error in conftest).  No request here may
produce a 5xx (Api.request fails the test on one).
"""
from __future__ import annotations

import json

import pytest

from tests.support.rest import unique

MISSING = '00000000-0000-4000-8000-000000000000'


# --------------------------------------------------------------------------
# Request bodies and attribute maps
# --------------------------------------------------------------------------

def test_malformed_json_is_400_malformed_request_body(api):
    resp = api.post('/v2.0/networks', data='{"network": {"name": ',
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 400, 'MalformedRequestBody')


@pytest.mark.parametrize('body', [[{'name': 'x'}], 'network', 42, None],
                         ids=['list', 'string', 'number', 'null'])
def test_body_that_is_not_an_object_is_400(api, body):
    resp = api.post('/v2.0/networks', data=json.dumps(body),
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 400)


def test_empty_body_is_400(api):
    resp = api.post('/v2.0/networks', data=b'',
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 400)


@pytest.mark.parametrize('body', [{'netwrk': {'name': 'x'}}, {}],
                         ids=['wrong-key', 'empty-object'])
def test_body_without_resource_key_is_400(api, body):
    api.error(api.post('/v2.0/networks', json=body), 400)


@pytest.mark.parametrize('body', [{'network': 'x'}, {'network': [1]},
                                  {'networks': []}, {'networks': 'x'}],
                         ids=['str', 'list', 'empty-bulk', 'str-bulk'])
def test_resource_that_is_not_an_object_is_400(api, body):
    api.error(api.post('/v2.0/networks', json=body), 400)


def test_unknown_attribute_is_400_unrecognized(api):
    name = unique()
    resp = api.post('/v2.0/networks',
                    json={'network': {'name': name, 'colour': 'red'}})
    err = api.error(resp, 400, 'HTTPBadRequest', 'Unrecognized attribute(s)')
    assert 'colour' in err['message'], err
    assert api.list('networks', {'name': name}) == []


def test_unknown_attribute_on_update_is_400(api):
    net = api.network()
    resp = api.put(f"/v2.0/networks/{net['id']}",
                   json={'network': {'colour': 'red'}})
    api.error(resp, 400, 'HTTPBadRequest', 'Unrecognized attribute(s)')


@pytest.mark.parametrize('resource,attrs', [
    ('network', {'status': 'DOWN'}),
    ('network', {'id': '11111111-2222-4333-8444-555555555555'}),
    ('network', {'subnets': []}),
    ('network', {'revision_number': 7}),
    ('port', {'status': 'ACTIVE'}),
    ('subnet', {'id': '11111111-2222-4333-8444-555555555555'}),
], ids=['net-status', 'net-id', 'net-subnets', 'net-revision', 'port-status',
        'subnet-id'])
def test_attribute_not_allowed_in_post_is_400(api, resource, attrs):
    net = api.network()
    base = {'network': {'name': unique()},
            'port': {'network_id': net['id']},
            'subnet': {'network_id': net['id'], 'cidr': '10.1.0.0/24',
                       'ip_version': 4}}[resource]
    resp = api.post(f'/v2.0/{resource}s',
                    json={resource: dict(base, **attrs)})
    api.error(resp, 400, 'HTTPBadRequest')


def test_read_only_attributes_on_put_are_400(api):
    net = api.network()
    other = api.network()
    sub = api.subnet(net['id'], '10.2.0.0/24')
    port = api.port(net['id'])
    cases = [
        ('ports', port['id'], {'port': {'network_id': other['id']}}),
        ('ports', port['id'], {'port': {'status': 'ACTIVE'}}),
        ('subnets', sub['id'], {'subnet': {'cidr': '10.3.0.0/24'}}),
        ('subnets', sub['id'], {'subnet': {'ip_version': 6}}),
        ('subnets', sub['id'], {'subnet': {'network_id': other['id']}}),
        ('networks', net['id'], {'network': {'id': other['id']}}),
        ('networks', net['id'], {'network': {'project_id': 'someone'}}),
    ]
    for collection, item_id, body in cases:
        resp = api.put(f'/v2.0/{collection}/{item_id}', json=body)
        api.error(resp, 400, 'HTTPBadRequest')
    assert api.show('port', port['id'])['network_id'] == net['id']
    assert api.show('subnet', sub['id'])['cidr'] == '10.2.0.0/24'


@pytest.mark.parametrize('missing', ['cidr', 'network_id', 'ip_version'])
def test_subnet_without_required_attribute_is_400(api, missing):
    net = api.network()
    body = {'network_id': net['id'], 'cidr': '10.4.0.0/24', 'ip_version': 4}
    del body[missing]
    resp = api.post('/v2.0/subnets', json={'subnet': body})
    # Neutron words a missing cidr as BadRequest ("a subnetpool must be
    # specified in the absence of a cidr"), the others as HTTPBadRequest.
    api.error(resp, 400, ('HTTPBadRequest', 'BadRequest'), missing)
    assert api.show('network', net['id'])['subnets'] == []


def test_port_without_network_id_is_400(api):
    resp = api.post('/v2.0/ports', json={'port': {'name': unique()}})
    api.error(resp, 400, 'HTTPBadRequest', 'network_id')


@pytest.mark.parametrize('attrs', [
    {'name': 5},
    {'name': ['a']},
    {'description': {'a': 1}},
    {'admin_state_up': 'maybe'},
    {'admin_state_up': 2},
    {'admin_state_up': None},
    {'shared': 'yes please'},
    {'mtu': 'abc'},
    {'mtu': -1},
    {'mtu': 1.5},
    {'mtu': 65536},
], ids=lambda a: '-'.join(f'{k}={v}' for k, v in a.items()))
def test_wrong_types_on_network_are_400(api, attrs):
    name = unique()
    attrs = dict({'name': name}, **attrs)
    resp = api.post('/v2.0/networks', json={'network': attrs})
    api.error(resp, 400)
    assert api.list('networks', {'name': name}) == []


def test_mtu_above_the_physical_network_mtu_is_400(api):
    # global_physnet_mtu defaults to 1500 and is the largest allowed MTU.
    resp = api.post('/v2.0/networks',
                    json={'network': {'name': unique(), 'mtu': 9000}})
    api.error(resp, 400)
    assert api.network(mtu=1500)['mtu'] == 1500
    assert api.network(mtu=68)['mtu'] == 68


@pytest.mark.parametrize('value,expected', [
    (True, True), ('true', True), ('True', True), ('TRUE', True),
    (False, False), ('false', False), ('False', False),
])
def test_booleans_accept_json_and_string_forms(api, value, expected):
    net = api.network(admin_state_up=value)
    assert net['admin_state_up'] is expected
    net = api.update('network', net['id'], admin_state_up=not expected)
    assert net['admin_state_up'] is (not expected)


@pytest.mark.parametrize('value,expected', [
    (1, True), (0, False), ('1', True), ('0', False)],
    ids=['int-1', 'int-0', 'str-1', 'str-0'])
def test_booleans_accept_numeric_forms(api, value, expected):
    # neutron-lib's convert_to_boolean accepts 0/1 and the strings "0"/"1".
    net = api.network(admin_state_up=value)
    assert net['admin_state_up'] is expected


def test_name_of_256_characters_is_400_and_255_is_fine(api):
    resp = api.post('/v2.0/networks', json={'network': {'name': 'n' * 256}})
    api.error(resp, 400, 'HTTPBadRequest')
    assert api.network(name='n' * 255)['name'] == 'n' * 255
    net = api.network()
    resp = api.put(f"/v2.0/networks/{net['id']}",
                   json={'network': {'name': 'p' * 256}})
    api.error(resp, 400, 'HTTPBadRequest')
    assert api.show('network', net['id'])['name'] == net['name']


def test_request_body_of_10_mb_is_413(api):
    name = unique()
    body = json.dumps({'network': {'name': name,
                                   'description': 'x' * (10 * 1024 * 1024)}})
    resp = api.post('/v2.0/networks', data=body,
                    headers={'Content-Type': 'application/json'})
    assert resp.status_code == 413, resp.text[:500]
    assert api.list('networks', {'name': name}) == []


# --------------------------------------------------------------------------
# Subnets
# --------------------------------------------------------------------------

def test_cidr_with_host_bits_is_400_and_recommends_the_network(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.0.0.1/24', 'ip_version': 4}})
    err = api.error(resp, 400)
    assert '10.0.0.0/24' in err['message'] and 'recommended' in \
        err['message'], err
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '2001:db8::1/64', 'ip_version': 6}})
    err = api.error(resp, 400)
    assert '2001:db8::/64' in err['message'], err
    assert api.show('network', net['id'])['subnets'] == []


@pytest.mark.parametrize('cidr', ['garbage', '10.0.0.0/33', '300.0.0.0/24',
                                  '10.0.0.0', '', '2001:db8::/129', 24])
def test_invalid_cidr_is_400(api, cidr):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': cidr, 'ip_version': 4}})
    api.error(resp, 400)


@pytest.mark.parametrize('cidr,version', [('10.0.0.0/24', 6),
                                          ('2001:db8::/64', 4)])
def test_ip_version_mismatch_is_400(api, cidr, version):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': cidr, 'ip_version': version}})
    api.error(resp, 400)
    assert api.show('network', net['id'])['subnets'] == []


def test_unknown_ip_version_is_400(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.0.0.0/24', 'ip_version': 5}})
    api.error(resp, 400)


@pytest.mark.parametrize('attrs', [
    {'gateway_ip': '10.5.0.300'},
    {'gateway_ip': 'gateway'},
    {'gateway_ip': '10.5.0.1/24'},
    {'gateway_ip': '2001:db8::1'},
    {'dns_nameservers': ['8.8.8.256']},
    {'dns_nameservers': 'not-a-list'},
    {'host_routes': [{'destination': '0.0.0.0/0', 'nexthop': 'router'}]},
    {'host_routes': [{'destination': 'default', 'nexthop': '10.5.0.9'}]},
    {'allocation_pools': [{'start': '10.5.0.10', 'end': '10.5.0.x'}]},
    {'allocation_pools': [{'start': '10.5.0.10'}]},
    {'allocation_pools': [{'start': '10.5.0.20', 'end': '10.5.0.10'}]},
], ids=['gw-octet', 'gw-word', 'gw-cidr', 'gw-v6', 'dns-octet', 'dns-str',
        'route-nexthop', 'route-dest', 'pool-end', 'pool-no-end',
        'pool-reversed'])
def test_invalid_addresses_in_subnet_are_400(api, attrs):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': dict(
        {'network_id': net['id'], 'cidr': '10.5.0.0/24', 'ip_version': 4},
        **attrs)})
    api.error(resp, 400)
    assert api.show('network', net['id'])['subnets'] == []


def test_invalid_uuid_for_network_id_is_400(api):
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': 'not-a-uuid', 'cidr': '10.0.0.0/24', 'ip_version': 4}})
    api.error(resp, 400, 'HTTPBadRequest')
    resp = api.post('/v2.0/ports', json={'port': {'network_id': 'nope'}})
    api.error(resp, 400, 'HTTPBadRequest')


def test_subnet_or_port_on_nonexistent_network_is_404(api):
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': MISSING, 'cidr': '10.0.0.0/24', 'ip_version': 4}})
    api.error(resp, 404, 'NetworkNotFound', MISSING)
    resp = api.post('/v2.0/ports', json={'port': {'network_id': MISSING}})
    api.error(resp, 404, 'NetworkNotFound', MISSING)


@pytest.mark.parametrize('collection,type_', [
    ('networks', 'NetworkNotFound'), ('subnets', 'SubnetNotFound'),
    ('ports', 'PortNotFound')])
def test_unknown_ids_are_404(api, collection, type_):
    resource = collection[:-1]
    path = f'/v2.0/{collection}/{MISSING}'
    api.error(api.get(path), 404, type_, MISSING)
    api.error(api.put(path, json={resource: {'name': 'x'}}), 404, type_)
    api.error(api.delete(path), 404, type_)


def test_overlapping_cidr_on_one_network_is_400(api):
    net = api.network()
    api.subnet(net['id'], '10.6.0.0/24')
    for cidr in ('10.6.0.0/24', '10.6.0.128/25', '10.6.0.0/16'):
        resp = api.post('/v2.0/subnets', json={'subnet': {
            'network_id': net['id'], 'cidr': cidr, 'ip_version': 4}})
        api.error(resp, 400)
    assert len(api.show('network', net['id'])['subnets']) == 1
    # The same CIDR on another network is fine, and so is a neighbour.
    api.subnet(api.network()['id'], '10.6.0.0/24')
    api.subnet(net['id'], '10.6.1.0/24')


def test_allocation_pool_outside_cidr_is_400(api):
    net = api.network()
    for pool in ({'start': '10.8.0.2', 'end': '10.8.0.9'},
                 {'start': '10.7.0.200', 'end': '10.7.1.5'},
                 {'start': '10.7.0.0', 'end': '10.7.0.9'},
                 {'start': '10.7.0.250', 'end': '10.7.0.255'}):
        resp = api.post('/v2.0/subnets', json={'subnet': {
            'network_id': net['id'], 'cidr': '10.7.0.0/24', 'ip_version': 4,
            'allocation_pools': [pool]}})
        api.error(resp, 400, 'OutOfBoundsAllocationPool')


def test_overlapping_allocation_pools_are_409(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.9.0.0/24', 'ip_version': 4,
        'allocation_pools': [{'start': '10.9.0.10', 'end': '10.9.0.20'},
                             {'start': '10.9.0.20', 'end': '10.9.0.30'}]}})
    api.error(resp, 409, 'OverlappingAllocationPools')
    sub = api.subnet(net['id'], '10.9.0.0/24')
    resp = api.put(f"/v2.0/subnets/{sub['id']}", json={'subnet': {
        'allocation_pools': [{'start': '10.9.0.50', 'end': '10.9.0.60'},
                             {'start': '10.9.0.40', 'end': '10.9.0.55'}]}})
    api.error(resp, 409, 'OverlappingAllocationPools')
    assert api.show('subnet', sub['id'])['allocation_pools'] == [
        {'start': '10.9.0.2', 'end': '10.9.0.254'}]


def test_gateway_inside_a_pool_is_409(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.10.0.0/24', 'ip_version': 4,
        'gateway_ip': '10.10.0.15',
        'allocation_pools': [{'start': '10.10.0.10', 'end': '10.10.0.20'}]}})
    api.error(resp, 409, 'GatewayConflictWithAllocationPools')
    sub = api.subnet(net['id'], '10.10.0.0/24', allocation_pools=[
        {'start': '10.10.0.10', 'end': '10.10.0.20'}])
    resp = api.put(f"/v2.0/subnets/{sub['id']}",
                   json={'subnet': {'gateway_ip': '10.10.0.12'}})
    api.error(resp, 409, 'GatewayConflictWithAllocationPools')
    assert api.show('subnet', sub['id'])['gateway_ip'] == '10.10.0.1'


def test_more_than_five_dns_nameservers_is_400(api):
    net = api.network()
    servers = [f'192.0.2.{i}' for i in range(1, 7)]
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.11.0.0/24', 'ip_version': 4,
        'dns_nameservers': servers}})
    api.error(resp, 400, 'DNSNameServersExhausted')
    sub = api.subnet(net['id'], '10.11.0.0/24', dns_nameservers=servers[:5])
    assert sub['dns_nameservers'] == servers[:5]
    resp = api.put(f"/v2.0/subnets/{sub['id']}",
                   json={'subnet': {'dns_nameservers': servers}})
    api.error(resp, 400, 'DNSNameServersExhausted')
    assert api.show('subnet', sub['id'])['dns_nameservers'] == servers[:5]


def test_too_many_dns_nameservers_on_create_names_the_new_subnet(api):
    # Neutron: DNSNameServersExhausted(subnet_id=s.get('id', 'new subnet')):
    # a subnet being created has no id yet, so none may be named.
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.11.0.0/24', 'ip_version': 4,
        'dns_nameservers': [f'192.0.2.{i}' for i in range(1, 7)]}})
    api.error(resp, 400, 'DNSNameServersExhausted',
              'Unable to complete operation for new subnet. The number of '
              'DNS nameservers exceeds the limit 5.')


def test_duplicate_dns_nameservers_are_400(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.12.0.0/24', 'ip_version': 4,
        'dns_nameservers': ['192.0.2.1', '192.0.2.2', '192.0.2.1']}})
    api.error(resp, 400)
    assert api.show('network', net['id'])['subnets'] == []


@pytest.mark.parametrize('modes', [
    {'ipv6_ra_mode': 'slaac'}, {'ipv6_address_mode': 'slaac'},
    {'ipv6_ra_mode': 'dhcpv6-stateful',
     'ipv6_address_mode': 'dhcpv6-stateful'}],
    ids=['ra', 'address', 'both'])
def test_ipv6_modes_on_a_v4_subnet_are_400(api, modes):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': dict(
        {'network_id': net['id'], 'cidr': '10.13.0.0/24', 'ip_version': 4},
        **modes)})
    api.error(resp, 400)


def test_unknown_ipv6_mode_is_400(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '2001:db8:13::/64', 'ip_version': 6,
        'ipv6_address_mode': 'magic'}})
    api.error(resp, 400)


def test_slaac_needs_a_64_prefix(api):
    net = api.network()
    for cidr in ('2001:db8:14::/80', '2001:db8:14::/56'):
        resp = api.post('/v2.0/subnets', json={'subnet': {
            'network_id': net['id'], 'cidr': cidr, 'ip_version': 6,
            'ipv6_ra_mode': 'slaac', 'ipv6_address_mode': 'slaac'}})
        api.error(resp, 400)
    sub = api.subnet(net['id'], '2001:db8:14::/64', ipv6_ra_mode='slaac',
                     ipv6_address_mode='slaac')
    assert sub['ipv6_address_mode'] == 'slaac'


# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

@pytest.mark.parametrize('mac', [
    '01:00:5e:00:00:01',   # IPv4 multicast
    'ff:ff:ff:ff:ff:ff',   # broadcast
    '33:33:00:00:00:01',   # IPv6 multicast
    '00:00:00:00:00:00',   # all zero
    'zz:16:3e:00:00:01', 'fa:16:3e:00:00', 'fa:16:3e:00:00:01:02',
    'fa:16:3e:00:00:001', 'fa:16:3e 00:00:01', '', 42])
def test_invalid_mac_address_is_400(api, mac):
    net = api.network()
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'mac_address': mac}})
    api.error(resp, 400)
    assert api.list('ports', {'network_id': net['id']}) == []


@pytest.mark.parametrize('fixed_ips', [
    [{'ip_address': '10.15.0.300'}],
    [{'ip_address': 'ten'}],
    [{'subnet_id': 'not-a-uuid'}],
    [{}],
    [{'ip_address': '10.15.0.5', 'colour': 'red'}],
    'not-a-list',
], ids=['octet', 'word', 'subnet-uuid', 'empty', 'extra-key', 'str'])
def test_invalid_fixed_ips_are_400(api, fixed_ips):
    net = api.network()
    api.subnet(net['id'], '10.15.0.0/24')
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'fixed_ips': fixed_ips}})
    api.error(resp, 400)
    assert api.list('ports', {'network_id': net['id']}) == []


@pytest.mark.parametrize('value', ['pxe\n.0', 'pxe.0\r', 'a\nb\nc'])
def test_extra_dhcp_opt_value_with_a_newline_is_400(api, value):
    net = api.network()
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'extra_dhcp_opts': [
            {'opt_name': 'bootfile-name', 'opt_value': value}]}})
    api.error(resp, 400)
    assert api.list('ports', {'network_id': net['id']}) == []


@pytest.mark.parametrize('name', ['tag:foo,bootfile-name', '', 'boot\nfile'],
                         ids=['comma', 'empty', 'newline'])
def test_extra_dhcp_opt_bad_name_is_400(api, name):
    net = api.network()
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'extra_dhcp_opts': [
            {'opt_name': name, 'opt_value': 'pxe.0'}]}})
    api.error(resp, 400)
    port = api.port(net['id'])
    resp = api.put(f"/v2.0/ports/{port['id']}", json={'port': {
        'extra_dhcp_opts': [{'opt_name': name, 'opt_value': 'pxe.0'}]}})
    api.error(resp, 400)
    assert api.show('port', port['id'])['extra_dhcp_opts'] == []


def test_fixed_ip_outside_the_subnet_is_400(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.16.0.0/24')
    other = api.subnet(api.network()['id'], '10.17.0.0/24')
    cases = [
        ([{'ip_address': '10.99.0.5'}], ('InvalidIpForNetwork',)),
        ([{'subnet_id': sub['id'], 'ip_address': '10.99.0.5'}],
         ('InvalidIpForSubnet',)),
        # The network and broadcast addresses are not host addresses.
        ([{'subnet_id': sub['id'], 'ip_address': '10.16.0.0'}],
         ('InvalidIpForSubnet',)),
        ([{'subnet_id': sub['id'], 'ip_address': '10.16.0.255'}],
         ('InvalidIpForSubnet',)),
        # A subnet of another network.
        ([{'subnet_id': other['id']}], ('InvalidInput',)),
        ([{'ip_address': '10.17.0.5'}], ('InvalidIpForNetwork',)),
    ]
    for fixed_ips, types in cases:
        resp = api.post('/v2.0/ports', json={'port': {
            'network_id': net['id'], 'fixed_ips': fixed_ips}})
        api.error(resp, 400, types)
    assert api.list('ports', {'network_id': net['id']}) == []


def test_duplicate_fixed_ip_is_409(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.18.0.0/24')
    first = api.port(net['id'], fixed_ips=[{'ip_address': '10.18.0.50'}])
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'],
        'fixed_ips': [{'subnet_id': sub['id'], 'ip_address': '10.18.0.50'}]}})
    api.error(resp, 409, 'IpAddressAlreadyAllocated', '10.18.0.50')
    # Taking it with an update fails the same way and changes nothing.
    second = api.port(net['id'])
    resp = api.put(f"/v2.0/ports/{second['id']}", json={'port': {
        'fixed_ips': [{'ip_address': '10.18.0.50'}]}})
    api.error(resp, 409, 'IpAddressAlreadyAllocated')
    assert api.show('port', second['id'])['fixed_ips'] == second['fixed_ips']
    assert [p['id'] for p in api.list('ports', {
        'fixed_ips': 'ip_address=10.18.0.50'})] == [first['id']]


def test_duplicate_mac_on_a_network_is_409_but_fine_elsewhere(api):
    net = api.network()
    mac = 'fa:16:3e:5a:00:01'
    api.port(net['id'], mac_address=mac)
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'mac_address': mac}})
    api.error(resp, 409, 'MacAddressInUse', mac)
    other = api.network()
    assert api.port(other['id'], mac_address=mac)['mac_address'] == mac
    port = api.port(net['id'])
    resp = api.put(f"/v2.0/ports/{port['id']}",
                   json={'port': {'mac_address': mac}})
    api.error(resp, 409, 'MacAddressInUse')
    assert api.show('port', port['id'])['mac_address'] == port['mac_address']


def test_pool_exhaustion_is_409(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.19.0.0/29')
    assert sub['allocation_pools'] == [{'start': '10.19.0.2',
                                        'end': '10.19.0.6'}]
    ips = {api.port(net['id'])['fixed_ips'][0]['ip_address']
           for _ in range(5)}
    assert ips == {f'10.19.0.{i}' for i in range(2, 7)}
    resp = api.post('/v2.0/ports', json={'port': {'network_id': net['id']}})
    api.error(resp, 409, 'IpAddressGenerationFailure', net['id'])
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'fixed_ips': [{'subnet_id': sub['id']}]}})
    api.error(resp, 409, 'IpAddressGenerationFailure')
    assert len(api.list('ports', {'network_id': net['id']})) == 5


def test_small_pool_exhaustion_and_release(api):
    net = api.network()
    api.subnet(net['id'], '10.20.0.0/24', allocation_pools=[
        {'start': '10.20.0.100', 'end': '10.20.0.101'}])
    a = api.port(net['id'])
    api.port(net['id'])
    resp = api.post('/v2.0/ports', json={'port': {'network_id': net['id']}})
    api.error(resp, 409, 'IpAddressGenerationFailure')
    api.remove('port', a['id'])
    again = api.port(net['id'])
    assert again['fixed_ips'][0]['ip_address'] == \
        a['fixed_ips'][0]['ip_address']


def test_network_with_a_compute_port_cannot_be_deleted(api):
    net = api.network()
    api.subnet(net['id'], '10.21.0.0/24')
    port = api.port(net['id'], device_owner='compute:nova',
                    device_id=unique('vm'))
    resp = api.delete(f"/v2.0/networks/{net['id']}")
    api.error(resp, 409, 'NetworkInUse', net['id'])
    assert api.show('network', net['id'])['id'] == net['id']
    api.remove('port', port['id'])
    api.remove('network', net['id'])
    api.error(api.get(f"/v2.0/networks/{net['id']}"), 404, 'NetworkNotFound')
    assert api.list('subnets', {'network_id': net['id']}) == []


def test_subnet_with_a_port_allocation_cannot_be_deleted(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.22.0.0/24')
    port = api.port(net['id'])
    resp = api.delete(f"/v2.0/subnets/{sub['id']}")
    api.error(resp, 409, 'SubnetInUse', sub['id'])
    assert api.show('subnet', sub['id'])['id'] == sub['id']
    api.remove('port', port['id'])
    api.remove('subnet', sub['id'])
    api.error(api.get(f"/v2.0/subnets/{sub['id']}"), 404, 'SubnetNotFound')
    assert api.show('network', net['id'])['subnets'] == []


# --------------------------------------------------------------------------
# Quotas
# --------------------------------------------------------------------------

def test_quota_defaults(api, member, project):
    expected = {'network': 100, 'subnet': 100, 'port': 500}
    quota = api.ok(api.get(f'/v2.0/quotas/{project}'))['quota']
    assert {k: quota[k] for k in expected} == expected
    # A project may read its own quota.
    quota = api.ok(api.get(f'/v2.0/quotas/{project}',
                           headers=member(project)))['quota']
    assert {k: quota[k] for k in expected} == expected


def test_network_quota_is_enforced_and_minus_one_is_unlimited(
        api, member, project):
    headers = member(project)
    quota = api.ok(api.put(f'/v2.0/quotas/{project}',
                           json={'quota': {'network': 1}}))['quota']
    assert quota['network'] == 1
    assert quota['subnet'] == 100 and quota['port'] == 500
    api.network(headers=headers)
    name = unique()
    resp = api.post('/v2.0/networks', json={'network': {'name': name}},
                    headers=headers)
    api.error(resp, 409, 'OverQuota', 'network')
    # An admin creating on the project's behalf is held to it too.
    resp = api.post('/v2.0/networks', json={'network': {
        'name': name, 'project_id': project}})
    api.error(resp, 409, 'OverQuota')
    assert api.list('networks', {'name': name}) == []
    # Other projects are not affected.
    api.network(headers=member(unique('proj')))

    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'network': -1}}))
    for _ in range(3):
        api.network(headers=headers)
    assert len(api.list('networks', {'project_id': project})) == 4


def test_over_quota_message_lists_the_resources(api, member, project):
    # neutron's quota engine: OverQuota(overs=sorted(overs)), a list.
    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'network': 0}}))
    resp = api.post('/v2.0/networks', json={'network': {'name': unique()}},
                    headers=member(project))
    api.error(resp, 409, 'OverQuota',
              "Quota exceeded for resources: ['network'].")


def test_port_and_subnet_quotas(api, member, project):
    headers = member(project)
    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'subnet': 1, 'port': 2}}))
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.23.0.0/24', headers=headers)
    resp = api.post('/v2.0/subnets', headers=headers, json={'subnet': {
        'network_id': net['id'], 'cidr': '10.23.1.0/24', 'ip_version': 4}})
    api.error(resp, 409, 'OverQuota', 'subnet')
    api.port(net['id'], headers=headers)
    api.port(net['id'], headers=headers)
    resp = api.post('/v2.0/ports', json={'port': {'network_id': net['id']}},
                    headers=headers)
    api.error(resp, 409, 'OverQuota', 'port')


def test_bulk_create_over_quota_creates_nothing(api, member, project):
    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'network': 2}}))
    resp = api.post('/v2.0/networks', headers=member(project), json={
        'networks': [{'name': unique()} for _ in range(3)]})
    api.error(resp, 409, 'OverQuota')
    assert api.list('networks', {'project_id': project}) == []


def test_quota_changes_need_admin(api, member, project):
    resp = api.put(f'/v2.0/quotas/{project}', headers=member(project),
                   json={'quota': {'network': 1000}})
    api.error(resp, 403)
    resp = api.delete(f'/v2.0/quotas/{project}', headers=member(project))
    api.error(resp, 403)
    quota = api.ok(api.get(f'/v2.0/quotas/{project}'))['quota']
    assert quota['network'] == 100
    # Another project's quota is not readable either.
    resp = api.get(f'/v2.0/quotas/{project}',
                   headers=member(unique('proj')))
    api.error(resp, 403)


@pytest.mark.parametrize('quota', [{'network': 'lots'}, {'network': -2},
                                   {'widgets': 3}])
def test_invalid_quota_update_is_400(api, project, quota):
    resp = api.put(f'/v2.0/quotas/{project}', json={'quota': quota})
    api.error(resp, 400)
    assert api.ok(api.get(f'/v2.0/quotas/{project}'))['quota'][
        'network'] == 100


def test_deleting_a_quota_restores_the_defaults(api, project):
    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'port': 7}}))
    listed = api.ok(api.get('/v2.0/quotas'))['quotas']
    mine = [q for q in listed if q['project_id'] == project]
    assert len(mine) == 1 and mine[0]['port'] == 7
    api.ok(api.delete(f'/v2.0/quotas/{project}'), 204)
    assert api.ok(api.get(f'/v2.0/quotas/{project}'))['quota']['port'] == 500


# --------------------------------------------------------------------------
# Non-admin access
# --------------------------------------------------------------------------

def test_non_admin_cannot_set_binding_host_id(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    resp = api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': net['id'], 'binding:host_id': 'compute-1'}})
    api.error(resp, 403)
    port = api.port(net['id'], headers=headers)
    resp = api.put(f"/v2.0/ports/{port['id']}", headers=headers,
                   json={'port': {'binding:host_id': 'compute-1'}})
    api.error(resp, 403)
    assert api.show('port', port['id'])['binding:host_id'] == ''


def test_non_admin_does_not_see_binding_host_id(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    port = api.port(net['id'], headers=headers)
    assert 'binding:host_id' not in port
    assert 'binding:vnic_type' in port
    api.update('port', port['id'], **{'binding:host_id': 'compute-7'})
    assert api.show('port', port['id'])['binding:host_id'] == 'compute-7'
    assert 'binding:host_id' not in api.show('port', port['id'],
                                             headers=headers)
    listed = api.list('ports', {'network_id': net['id']}, headers=headers)
    assert [p['id'] for p in listed] == [port['id']]
    assert 'binding:host_id' not in listed[0]
    listed = api.list('ports', {'network_id': net['id'],
                                'fields': ['id', 'binding:host_id']},
                      headers=headers)
    assert listed == [{'id': port['id']}]
    updated = api.update('port', port['id'], headers=headers, name='renamed')
    assert 'binding:host_id' not in updated


def test_non_admin_cannot_claim_a_network_device_owner_on_a_shared_network(
        api, member, project):
    shared = api.network(shared=True)
    api.subnet(shared['id'], '10.24.0.0/24')
    for owner in ('network:dhcp', 'network:router_interface'):
        resp = api.post('/v2.0/ports', headers=member(project), json={
            'port': {'network_id': shared['id'], 'device_owner': owner}})
        api.error(resp, 403)
    port = api.port(shared['id'], headers=member(project),
                    device_owner='compute:nova')
    resp = api.put(f"/v2.0/ports/{port['id']}", headers=member(project),
                   json={'port': {'device_owner': 'network:dhcp'}})
    api.error(resp, 403)
    assert api.list('ports', {'network_id': shared['id'],
                              'device_owner': 'network:dhcp'}) == []


def test_network_owner_may_create_a_network_device_port(api, member, project):
    # Neutron's create_port:device_owner rule is "not rule:network_device
    # or admin/service or network owner": the owner of a network may put a
    # network:* port on it.
    headers = member(project)
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.25.0.0/24', headers=headers)
    port = api.port(net['id'], headers=headers, device_owner='network:dhcp')
    assert port['device_owner'] == 'network:dhcp'


def test_non_admin_cannot_share_a_network(api, member, project):
    headers = member(project)
    name = unique()
    resp = api.post('/v2.0/networks', headers=headers,
                    json={'network': {'name': name, 'shared': True}})
    api.error(resp, 403)
    assert api.list('networks', {'name': name}) == []
    net = api.network(headers=headers, shared=False)
    resp = api.put(f"/v2.0/networks/{net['id']}", headers=headers,
                   json={'network': {'shared': True}})
    api.error(resp, 403)
    assert api.show('network', net['id'])['shared'] is False
    resp = api.post('/v2.0/networks', headers=headers, json={
        'network': {'name': name, 'router:external': True}})
    api.error(resp, 403)


def test_non_admin_cannot_create_for_another_project(api, member, project):
    headers = member(project)
    name = unique()
    for key in ('project_id', 'tenant_id'):
        resp = api.post('/v2.0/networks', headers=headers, json={
            'network': {'name': name, key: unique('proj')}})
        api.error(resp, 400)
    assert api.list('networks', {'name': name}) == []
    net = api.network(headers=headers, project_id=project)
    assert net['project_id'] == project
    # An admin may.
    other = unique('proj')
    assert api.network(project_id=other)['project_id'] == other


def test_mismatched_project_and_tenant_id_is_400(api):
    resp = api.post('/v2.0/networks', json={'network': {
        'name': unique(), 'project_id': 'p-one', 'tenant_id': 'p-two'}})
    api.error(resp, 400)


def test_non_admin_does_not_see_other_projects_resources(
        api, member, project):
    owner = member(project)
    stranger = member(unique('proj'))
    net = api.network(headers=owner)
    sub = api.subnet(net['id'], '10.26.0.0/24', headers=owner)
    port = api.port(net['id'], headers=owner)

    assert api.list('networks', {'name': net['name']}, headers=stranger) == []
    assert api.list('networks', {'id': net['id']}, headers=stranger) == []
    assert api.list('subnets', {'network_id': net['id']},
                    headers=stranger) == []
    assert api.list('ports', {'network_id': net['id']},
                    headers=stranger) == []
    assert all(n['id'] != net['id']
               for n in api.list('networks', headers=stranger))

    for path, type_ in ((f"/v2.0/networks/{net['id']}", 'NetworkNotFound'),
                        (f"/v2.0/subnets/{sub['id']}", 'SubnetNotFound'),
                        (f"/v2.0/ports/{port['id']}", 'PortNotFound')):
        api.error(api.get(path, headers=stranger), 404, type_)
        resource = path.split('/')[2][:-1]
        api.error(api.put(path, headers=stranger,
                          json={resource: {'name': 'mine'}}), 404, type_)
        api.error(api.delete(path, headers=stranger), 404, type_)
    resp = api.post('/v2.0/ports', headers=stranger,
                    json={'port': {'network_id': net['id']}})
    api.error(resp, 404, 'NetworkNotFound')

    # The owner still sees everything, unchanged.
    assert api.show('port', port['id'], headers=owner)['name'] == ''
    assert [n['id'] for n in api.list('networks', {'name': net['name']},
                                      headers=owner)] == [net['id']]


def test_non_admin_sees_shared_networks_and_may_use_them(
        api, member, project):
    headers = member(project)
    shared = api.network(shared=True)
    sub = api.subnet(shared['id'], '10.27.0.0/24')
    private = api.network()
    assert api.show('network', shared['id'], headers=headers)['shared']
    names = [n['name'] for n in api.list(
        'networks', {'name': [shared['name'], private['name']]},
        headers=headers)]
    assert names == [shared['name']]
    assert api.show('subnet', sub['id'], headers=headers)['id'] == sub['id']

    port = api.port(shared['id'], headers=headers)
    assert port['project_id'] == project
    assert port['fixed_ips'][0]['subnet_id'] == sub['id']
    mine = api.list('ports', {'network_id': shared['id']}, headers=headers)
    assert [p['id'] for p in mine] == [port['id']]
    # ...but may not change or delete the shared network itself.
    resp = api.put(f"/v2.0/networks/{shared['id']}", headers=headers,
                   json={'network': {'name': 'taken'}})
    api.error(resp, 403)
    api.error(api.delete(f"/v2.0/networks/{shared['id']}", headers=headers),
              403)
    resp = api.post('/v2.0/subnets', headers=headers, json={'subnet': {
        'network_id': shared['id'], 'cidr': '10.28.0.0/24',
        'ip_version': 4}})
    api.error(resp, 403)
    assert api.show('network', shared['id'])['name'] == shared['name']


def test_non_admin_may_not_pick_addresses_on_someone_elses_network(
        api, member, project):
    # create_port:fixed_ips:ip_address and create_port:mac_address are
    # admin-or-network-owner rules in Neutron: on a shared network another
    # project may not choose the IP or MAC of its port.
    shared = api.network(shared=True)
    api.subnet(shared['id'], '10.29.0.0/24')
    headers = member(project)
    resp = api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': shared['id'],
        'fixed_ips': [{'ip_address': '10.29.0.1'}]}})
    api.error(resp, 403)
    resp = api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': shared['id'], 'mac_address': 'fa:16:3e:29:00:01'}})
    api.error(resp, 403)
    assert api.list('ports', {'network_id': shared['id']}) == []


def test_non_admin_may_not_change_a_port_mac(api, member, project):
    # update_port:mac_address is admin-only in Neutron's default policy.
    headers = member(project)
    net = api.network(headers=headers)
    port = api.port(net['id'], headers=headers)
    resp = api.put(f"/v2.0/ports/{port['id']}", headers=headers,
                   json={'port': {'mac_address': 'fa:16:3e:30:00:01'}})
    api.error(resp, 403)
    assert api.show('port', port['id'])['mac_address'] == port['mac_address']


def test_x_roles_admin_makes_a_project_admin(api, project):
    headers = {'X-Project-Id': project, 'X-Roles': 'member,admin'}
    net = api.network(headers=headers, shared=True)
    assert net['shared'] is True and net['project_id'] == project


# --------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------

@pytest.mark.parametrize('path', ['/v2.0/routers', '/v2.0/widgets/1',
                                  '/v3/networks', '/nothing/here',
                                  '/v2.0/networks/a/b/c'])
def test_unknown_url_is_404_neutron_error(api, path):
    api.error(api.get(path), 404)


def test_unknown_extension_is_404(api):
    api.error(api.get('/v2.0/extensions/no-such-extension'), 404)


def test_unsupported_method_is_405(api):
    api.error(api.delete('/v2.0/networks'), 405)
