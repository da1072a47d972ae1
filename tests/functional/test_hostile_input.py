"""Input a hostile project member sends, over real HTTP (issue 9).

Every address field reaches dnsmasq's files; Python's ipaddress alone let an
IPv6 scope ID (`fe80::1%<anything>`, newlines and commas included) through
each of them, and with it new dnsmasq lines.  Each payload here must be a
400 with nothing created or changed, in the body of a POST or PUT and as a
query filter alike.  Then: one address has one spelling; subnets DHCP
cannot serve are refused as Neutron refuses them; numbers out of range are
400, never 500; a marker the caller cannot see is 404.
"""
from __future__ import annotations

import pytest

from tests.support.rest import unique

# An address, then a way out of its line or field.
INJECTED_V6 = ['fd00:60::5%\ndhcp-host=fa:16:3e:00:00:01,10.60.0.7',
               'fd00:60::5%eth0', 'fd00:60::5%,set:x', 'fe80::1%1',
               'fd00:60::5\n', ' fd00:60::5', 'fd00:60::5 ']
INJECTED_V4 = ['10.60.0.5\n', ' 10.60.0.5', '10.60.0.5,10.60.0.6',
               '10.60.0.5\x00', '010.60.0.5', '10.60.0.５']
# Well-formed addresses of the other family: no IPv4 subnet serves them.
FOREIGN = {4: 'fd00:60::5', 6: '10.60.0.5'}
CIDRS = {4: '10.60.0.0/24', 6: 'fd00:60::/64'}
GOOD = {4: ('10.60.0.9', '10.61.0.0/24'), 6: ('fd00:60::9', 'fd00:61::/64')}
LOW = {4: '10.60.0.2', 6: 'fd00:60::2'}


def payloads(version: int) -> list[str]:
    """Everything an address field of an IPv<version> subnet refuses."""
    return INJECTED_V6 + INJECTED_V4 + [FOREIGN[version]]


def host_prefix(address: str) -> int:
    return 128 if ':' in address else 32


def subnet_fields(version: int, bad: str) -> list[dict]:
    """Each address field of a subnet body carrying `bad`."""
    hop, dest = GOOD[version]
    return [{'dns_nameservers': [bad]},
            {'gateway_ip': bad},
            {'host_routes': [{'destination': dest, 'nexthop': bad}]},
            {'host_routes': [{'destination': f'{bad}/{host_prefix(bad)}',
                              'nexthop': hop}]},
            {'allocation_pools': [{'start': bad, 'end': hop}]},
            {'allocation_pools': [{'start': LOW[version], 'end': bad}]}]


def refused(api, attempts) -> list:
    """The attempts (label, response) that were not a NeutronError 400."""
    wrong = []
    for label, resp in attempts:
        try:
            api.error(resp, 400)
        except AssertionError:
            wrong.append((label, resp.status_code, resp.text[:200]))
    return wrong


@pytest.mark.parametrize('field', range(6), ids=[
    'dns', 'gateway', 'route-nexthop', 'route-destination', 'pool-start',
    'pool-end'])
def test_address_injection_into_a_new_subnet_is_400(api, field):
    net = api.network()
    attempts = [((version, bad), api.post('/v2.0/subnets', json={
        'subnet': dict(network_id=net['id'], cidr=CIDRS[version],
                       ip_version=version,
                       **subnet_fields(version, bad)[field])}))
        for version in (4, 6) for bad in payloads(version)]
    assert refused(api, attempts) == []
    assert api.show('network', net['id'])['subnets'] == []


@pytest.mark.parametrize('version', [4, 6])
def test_address_injection_into_a_subnet_update_is_400(api, version):
    net = api.network()
    hop, dest = GOOD[version]
    sub = api.subnet(net['id'], CIDRS[version], dns_nameservers=[hop],
                     host_routes=[{'destination': dest, 'nexthop': hop}])
    attempts = [((bad, i), api.put(f"/v2.0/subnets/{sub['id']}",
                                   json={'subnet': attrs}))
                for bad in payloads(version)
                for i, attrs in enumerate(subnet_fields(version, bad))]
    assert refused(api, attempts) == []
    assert api.show('subnet', sub['id']) == sub


def test_address_injection_into_fixed_ips_is_400(api):
    net = api.network()
    api.subnet(net['id'], CIDRS[4])
    api.subnet(net['id'], CIDRS[6])
    port = api.port(net['id'])
    attempts = []
    for bad in INJECTED_V6 + INJECTED_V4:
        fixed = [{'ip_address': bad}]
        attempts += [
            (bad, api.post('/v2.0/ports', json={'port': {
                'network_id': net['id'], 'fixed_ips': fixed}})),
            (bad, api.put(f"/v2.0/ports/{port['id']}",
                          json={'port': {'fixed_ips': fixed}}))]
    assert refused(api, attempts) == []
    assert [p['id'] for p in api.list('ports', {'network_id': net['id']})] \
        == [port['id']]
    assert api.show('port', port['id']) == port


def test_cidr_injection_is_400(api):
    net = api.network()
    attempts = [(cidr, api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': cidr,
        'ip_version': 6 if ':' in cidr else 4}})) for cidr in (
        'fd00:60::%\nx/64', 'fd00:60::%eth0/64', ' 10.60.0.0/24',
        '10.60.0.0/24\n', '10.60.0.0/024', '10.60.0.0/255.255.255.0',
        'fd00:60::/064')]
    assert refused(api, attempts) == []
    assert api.show('network', net['id'])['subnets'] == []


def test_mac_injection_is_400_and_macs_have_one_spelling(api):
    net = api.network()
    port = api.port(net['id'], mac_address='FA-16-3E-0A-0B-0C')
    assert port['mac_address'] == 'fa:16:3e:0a:0b:0c'
    attempts = []
    for mac in ('fa:16:3e:00:00:01\n', ' fa:16:3e:00:00:01',
                'fa:16:3e:00:00:01,1.2.3.4', 'fa:16-3e:00:00:01',
                'fa:16:3e:00:00:\uff101'):
        attempts += [
            (mac, api.post('/v2.0/ports', json={'port': {
                'network_id': net['id'], 'mac_address': mac}})),
            (mac, api.put(f"/v2.0/ports/{port['id']}",
                          json={'port': {'mac_address': mac}}))]
    assert refused(api, attempts) == []
    assert api.show('port', port['id']) == port
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'mac_address': 'fa16.3e0a.0b0c'}})
    api.error(resp, 409, 'MacAddressInUse')
    found = api.list('ports', {'mac_address': 'FA:16:3E:0A:0B:0C',
                               'network_id': net['id']})
    assert [p['id'] for p in found] == [port['id']]


def test_one_dhcp_option_named_twice_is_400(api):
    """The response showed both values while the database kept one."""
    net = api.network()
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'extra_dhcp_opts': [
            {'opt_name': 'mtu', 'opt_value': '1400'},
            {'opt_name': 'mtu', 'opt_value': '1450'}]}})
    api.error(resp, 400)
    assert api.list('ports', {'network_id': net['id']}) == []


def test_injection_as_a_query_filter_is_400(api):
    attempts = [((collection, params), api.get(f'/v2.0/{collection}',
                                               params=params))
                for collection, params in [
        ('subnets', {'gateway_ip': 'fd00:60::1%\nx'}),
        ('subnets', {'gateway_ip': ' 10.60.0.1'}),
        ('subnets', {'cidr': 'fd00:60::%x/64'}),
        ('ports', {'fixed_ips': 'ip_address=fd00:60::5%\nx'}),
        ('ports', {'fixed_ips': 'ip_address=10.60.0.5 '}),
        ('ports', {'fixed_ips': 'subnet_id=not-a-uuid'}),
        ('ports', {'fixed_ips': 'colour=red'}),
        ('ports', {'mac_address': 'fa:16:3e:00:00:01\n'})]]
    assert refused(api, attempts) == []


# --------------------------------------------------------------------------
# One address, one spelling
# --------------------------------------------------------------------------

def test_two_spellings_of_one_ipv6_address_are_one_address(api):
    net = api.network()
    api.subnet(net['id'], 'fd00:88::/64')
    first = api.port(net['id'], fixed_ips=[{'ip_address': 'fd00:88::99'}])
    assert first['fixed_ips'][0]['ip_address'] == 'fd00:88::99'
    for spelling in ('fd00:88:0::0099', 'FD00:88:0:0:0:0:0:99'):
        resp = api.post('/v2.0/ports', json={'port': {
            'network_id': net['id'],
            'fixed_ips': [{'ip_address': spelling}]}})
        api.error(resp, 409, 'IpAddressAlreadyAllocated')
    for spelling in ('fd00:88::99%y', 'fd00:88::99%\ny'):
        resp = api.post('/v2.0/ports', json={'port': {
            'network_id': net['id'],
            'fixed_ips': [{'ip_address': spelling}]}})
        api.error(resp, 400)
    assert [p['id'] for p in api.list('ports', {'network_id': net['id']})] \
        == [first['id']]
    found = api.list('ports', {'fixed_ips': 'ip_address=fd00:88:0::0099'})
    assert [p['id'] for p in found] == [first['id']]

    # Subnets store their addresses in the same canonical form.
    net = api.network()
    sub = api.subnet(net['id'], 'FD00:89:0::/64', gateway_ip='fd00:89::0001',
                     dns_nameservers=['FD00:89::53'],
                     allocation_pools=[{'start': 'fd00:89::0:10',
                                        'end': 'fd00:89::00ff'}],
                     host_routes=[{'destination': 'FD00:90::/64',
                                   'nexthop': 'fd00:89:0::1'}])
    assert (sub['cidr'], sub['gateway_ip']) == ('fd00:89::/64', 'fd00:89::1')
    assert sub['dns_nameservers'] == ['fd00:89::53']
    assert sub['allocation_pools'] == [{'start': 'fd00:89::10',
                                        'end': 'fd00:89::ff'}]
    assert sub['host_routes'] == [{'destination': 'fd00:90::/64',
                                   'nexthop': 'fd00:89::1'}]
    resp = api.put(f"/v2.0/subnets/{sub['id']}", json={'subnet': {
        'dns_nameservers': ['fd00:89::53', 'fd00:89:0::53']}})
    api.error(resp, 400)


# --------------------------------------------------------------------------
# Subnets DHCP cannot serve
# --------------------------------------------------------------------------

@pytest.mark.parametrize('cidr,attrs', [
    ('10.62.0.7/32', {}), ('10.62.0.6/31', {}), ('fd00:62::/127', {}),
    ('10.62.0.0/24', {'allocation_pools': []}),
    ('fd00:62::/64', {'allocation_pools': []}),
    ('169.254.62.0/24', {}), ('224.0.62.0/24', {}), ('fe80::/64', {})],
    ids=['v4-32', 'v4-31', 'v6-127', 'v4-no-pool', 'v6-no-pool',
         'link-local', 'multicast', 'v6-link-local'])
def test_dhcp_subnet_without_room_for_dhcp_is_400(api, cidr, attrs):
    net = api.network()
    body = dict(network_id=net['id'], cidr=cidr, enable_dhcp=True,
                ip_version=6 if ':' in cidr else 4, **attrs)
    api.error(api.post('/v2.0/subnets', json={'subnet': body}), 400,
              'InvalidInput')
    assert api.show('network', net['id'])['subnets'] == []
    body['enable_dhcp'] = False
    sub = api.ok(api.post('/v2.0/subnets', json={'subnet': body}),
                 201)['subnet']
    # Turning DHCP on later is refused the same way.
    resp = api.put(f"/v2.0/subnets/{sub['id']}",
                   json={'subnet': {'enable_dhcp': True}})
    api.error(resp, 400, 'InvalidInput')
    assert api.show('subnet', sub['id'])['enable_dhcp'] is False


def test_emptying_the_pools_of_a_dhcp_subnet_is_400(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.63.0.0/24')
    for pools in ([], None):
        resp = api.put(f"/v2.0/subnets/{sub['id']}",
                       json={'subnet': {'allocation_pools': pools}})
        api.error(resp, 400, 'InvalidInput')
    assert api.show('subnet', sub['id']) == sub
    # Without DHCP a subnet may have no pool (addresses are then assigned
    # explicitly), as in Neutron.
    api.update('subnet', sub['id'], enable_dhcp=False)
    assert api.update('subnet', sub['id'],
                      allocation_pools=[])['allocation_pools'] == []


def test_ipv6_subnet_needs_a_network_mtu_of_1280(api):
    small = api.network(mtu=1279)
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': small['id'], 'cidr': 'fd00:64::/64', 'ip_version': 6}})
    err = api.error(resp, 409, 'NetworkMTUSubnetConflict')
    assert err['message'] == (f"MTU of {small['id']} is not valid, subnet "
                              'requires a minimum of 1280')
    assert api.show('network', small['id'])['subnets'] == []
    api.subnet(small['id'], '10.64.0.0/24')     # IPv4 is fine
    api.update('network', small['id'], mtu=1280)
    api.subnet(small['id'], 'fd00:64::/64')


def test_network_mtu_below_1280_with_an_ipv6_subnet_is_409(api):
    net = api.network()
    api.subnet(net['id'], 'fd00:65::/64', enable_dhcp=False)
    resp = api.put(f"/v2.0/networks/{net['id']}",
                   json={'network': {'mtu': 1279}})
    api.error(resp, 409, 'NetworkMTUSubnetConflict')
    assert api.show('network', net['id'])['mtu'] == 1500
    assert api.update('network', net['id'], mtu=1280)['mtu'] == 1280


# --------------------------------------------------------------------------
# Numbers out of range
# --------------------------------------------------------------------------

def raw_json(api, method: str, path: str, body: str):
    """Send `body` as written (requests' json= refuses NaN and Infinity)."""
    return api.request(method, path, data=body.encode(),
                       headers={'Content-Type': 'application/json'})


# Infinity and NaN are not JSON, but Python's parser takes them; 1e400 is
# JSON and parses to infinity; the strings are numbers int() would take.
BAD_NUMBERS = ['Infinity', '-Infinity', 'NaN', '1e400', str(10 ** 23),
               str(2 ** 31), '1400.5', '"1_400"', '" 1400"', '"1400\\n"',
               '"\u0661\u0664\u0660\u0660"']


def test_network_mtu_out_of_range_or_malformed_is_400(api):
    net = api.network()
    name = unique()
    attempts = []
    for mtu in BAD_NUMBERS:
        attempts += [
            (mtu, raw_json(api, 'POST', '/v2.0/networks',
                           f'{{"network": {{"name": "{name}", '
                           f'"mtu": {mtu}}}}}')),
            (mtu, raw_json(api, 'PUT', f"/v2.0/networks/{net['id']}",
                           f'{{"network": {{"mtu": {mtu}}}}}'))]
    assert refused(api, attempts) == []
    assert api.list('networks', {'name': name}) == []
    assert api.show('network', net['id'])['mtu'] == 1500


def test_quota_out_of_range_is_400(api, project):
    attempts = [(limit, raw_json(api, 'PUT', f'/v2.0/quotas/{project}',
                                 f'{{"quota": {{"port": {limit}}}}}'))
                for limit in BAD_NUMBERS + ['-2']]
    assert refused(api, attempts) == []
    assert api.ok(api.get(f'/v2.0/quotas/{project}'))['quota']['port'] == 500
    # The largest quota is the largest database integer.
    quota = api.ok(api.put(f'/v2.0/quotas/{project}', json={'quota': {
        'port': 2 ** 31 - 1}}))['quota']
    assert quota['port'] == 2 ** 31 - 1


def test_query_numbers_out_of_range_are_400(api):
    attempts = [(params, api.get('/v2.0/networks', params=params))
                for params in [
        {'limit': str(10 ** 22)}, {'limit': str(2 ** 31)},
        {'limit': '\uff11\uff10'}, {'limit': ' 10'},
        {'revision_number': str(10 ** 22)}, {'mtu': str(10 ** 22)}]]
    assert refused(api, attempts) == []


# --------------------------------------------------------------------------
# Markers
# --------------------------------------------------------------------------

def test_marker_of_another_project_is_404_for_a_member(api, member):
    mine, theirs = unique('proj'), unique('proj')
    own = sorted((api.network(headers=member(mine), name=f'n{i}')
                  for i in range(3)), key=lambda n: n['name'])
    hidden = api.network(headers=member(theirs), name='n1')
    page = {'sort_key': 'name', 'sort_dir': 'asc', 'limit': 2}
    resp = api.get('/v2.0/networks', headers=member(mine),
                   params=dict(page, marker=hidden['id']))
    api.error(resp, 404, 'NetworkNotFound')
    resp = api.get('/v2.0/networks', headers=member(mine),
                   params=dict(page, marker=unique('gone')))
    api.error(resp, 404, 'NetworkNotFound')
    found = api.list('networks', dict(page, marker=own[0]['id']),
                     headers=member(mine))
    assert [n['id'] for n in found] == [own[1]['id'], own[2]['id']]
    # The admin sees every project, so the marker is theirs to use.
    found = api.list('networks', dict(page, marker=hidden['id'],
                                      project_id=theirs))
    assert found == []


@pytest.mark.parametrize('collection', ['subnets', 'ports'])
def test_unseen_marker_is_404_for_subnets_and_ports(api, member, collection):
    mine, theirs = unique('proj'), unique('proj')
    api.network(headers=member(mine))
    net = api.network(headers=member(theirs))
    item = (api.subnet(net['id'], '10.66.0.0/24', headers=member(theirs))
            if collection == 'subnets' else
            api.port(net['id'], headers=member(theirs)))
    resp = api.get(f'/v2.0/{collection}', headers=member(mine),
                   params={'limit': 1, 'marker': item['id']})
    api.error(resp, 404)
    resp = api.get(f'/v2.0/{collection}', headers=member(mine),
                   params={'limit': 1, 'marker': 'x' * 1000})
    api.error(resp, 404)
