"""List semantics, standard attributes, subnet and port behaviour over HTTP.

Lists are always scoped to resources the test made itself (by a fresh
project id, a network id or unique names), since the server is shared by
the whole session.
"""
from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse

import pytest

from tests.support.rest import unique

TIMESTAMP = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of `mac` on a /64 (RFC 4291 appendix A)."""
    octets = [int(x, 16) for x in mac.split(':')]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xff, 0xfe] + octets[3:]
    net = ipaddress.IPv6Network(cidr)
    return str(net.network_address + int.from_bytes(bytes(iid), 'big'))


def ids(items: list[dict]) -> list[str]:
    return [item['id'] for item in items]


def make_fleet(api, project: str) -> list[dict]:
    """Seven networks of `project`, with varied attributes."""
    return [api.network(name=name, project_id=project, admin_state_up=up,
                        mtu=mtu) for name, up, mtu in [
            ('delta', True, 1400), ('alpha', False, 1500),
            ('echo', True, 1450), ('bravo', True, 1400),
            ('golf', False, 1450), ('charlie', True, 1500),
            ('foxtrot', False, 1400)]]


@pytest.fixture
def fleet(api):
    """Seven networks of one fresh project."""
    project = unique('proj')
    return project, make_fleet(api, project)


# --------------------------------------------------------------------------
# Filters and fields
# --------------------------------------------------------------------------

def test_filter_networks_by_name_and_repeated_keys_mean_or(api, fleet):
    project, nets = fleet
    found = api.list('networks', {'project_id': project, 'name': 'echo'})
    assert ids(found) == [nets[2]['id']]
    found = api.list('networks', {'project_id': project,
                                  'name': ['echo', 'golf', 'nope']})
    assert sorted(ids(found)) == sorted([nets[2]['id'], nets[4]['id']])
    found = api.list('networks', {'id': [nets[0]['id'], nets[6]['id']]})
    assert sorted(ids(found)) == sorted([nets[0]['id'], nets[6]['id']])
    # Different keys combine with AND.
    found = api.list('networks', {'project_id': project,
                                  'name': ['echo', 'golf'], 'mtu': 1450,
                                  'admin_state_up': 'false'})
    assert ids(found) == [nets[4]['id']]
    assert api.list('networks', {'project_id': project,
                                 'name': 'nope'}) == []


@pytest.mark.parametrize('value,expected', [
    ('true', True), ('True', True), ('false', False), ('False', False)])
def test_filter_networks_by_admin_state_up(api, fleet, value, expected):
    project, nets = fleet
    found = api.list('networks', {'project_id': project,
                                  'admin_state_up': value})
    assert sorted(ids(found)) == sorted(
        n['id'] for n in nets if n['admin_state_up'] is expected)


def test_filter_networks_by_mtu_and_project(api, fleet):
    project, nets = fleet
    found = api.list('networks', {'project_id': project, 'mtu': '1400'})
    assert sorted(ids(found)) == sorted(
        n['id'] for n in nets if n['mtu'] == 1400)
    found = api.list('networks', {'tenant_id': project, 'mtu': [1450, 1500]})
    assert len(found) == 4
    assert all(n['project_id'] == project for n in found)


@pytest.mark.parametrize('params', [{'colour': 'red'}, {'sort': 'name'},
                                    {'mtu': 'abc'},
                                    {'admin_state_up': 'perhaps'}])
def test_invalid_filter_is_400(api, params):
    api.error(api.get('/v2.0/networks', params=params), 400)


def test_fields_limit_the_keys(api, fleet):
    project, nets = fleet
    found = api.list('networks', {'project_id': project, 'name': 'alpha',
                                  'fields': 'name'})
    assert found == [{'name': 'alpha'}]
    found = api.list('networks', {'project_id': project, 'name': 'alpha',
                                  'fields': ['id', 'mtu', 'shared']})
    assert found == [{'id': nets[1]['id'], 'mtu': 1500, 'shared': False}]
    resp = api.get(f"/v2.0/networks/{nets[1]['id']}",
                   params={'fields': ['name', 'admin_state_up']})
    assert api.ok(resp) == {'network': {'name': 'alpha',
                                        'admin_state_up': False}}


def test_filter_ports(api):
    net = api.network()
    other = api.network()
    sub4 = api.subnet(net['id'], '10.40.0.0/24')
    sub6 = api.subnet(net['id'], '2001:db8:40::/64')
    vm = api.port(net['id'], device_owner='compute:nova',
                  device_id=unique('vm'),
                  fixed_ips=[{'subnet_id': sub4['id'],
                              'ip_address': '10.40.0.10'},
                             {'subnet_id': sub6['id']}])
    dhcp = api.port(net['id'], device_owner='network:dhcp',
                    fixed_ips=[{'subnet_id': sub4['id'],
                                'ip_address': '10.40.0.2'}])
    bare = api.port(net['id'], fixed_ips=[])
    elsewhere = api.port(other['id'], device_owner='compute:nova')

    def found(**params):
        return sorted(ids(api.list('ports', params)))

    assert found(network_id=net['id']) == sorted(
        [vm['id'], dhcp['id'], bare['id']])
    assert found(network_id=[net['id'], other['id']],
                 device_owner='compute:nova') == sorted(
        [vm['id'], elsewhere['id']])
    assert found(network_id=net['id'], device_owner='network:dhcp') == \
        [dhcp['id']]
    assert found(device_id=vm['device_id']) == [vm['id']]
    assert found(mac_address=vm['mac_address']) == [vm['id']]
    assert found(mac_address=[vm['mac_address'], bare['mac_address']],
                 network_id=net['id']) == sorted([vm['id'], bare['id']])
    assert found(network_id=net['id'],
                 fixed_ips='ip_address=10.40.0.10') == [vm['id']]
    assert found(network_id=net['id'],
                 fixed_ips=f"subnet_id={sub4['id']}") == sorted(
        [vm['id'], dhcp['id']])
    assert found(fixed_ips=f"subnet_id={sub6['id']}") == [vm['id']]
    assert found(fixed_ips=['ip_address=10.40.0.2',
                            f"subnet_id={sub4['id']}"]) == [dhcp['id']]
    assert found(fixed_ips='ip_address=10.40.0.99') == []
    assert found(network_id=net['id'], name='nope') == []


def test_filter_subnets(api):
    net = api.network()
    v4 = api.subnet(net['id'], '10.41.0.0/24', name=unique('s'))
    v6 = api.subnet(net['id'], '2001:db8:41::/64', enable_dhcp=False)
    assert ids(api.list('subnets', {'network_id': net['id'],
                                    'ip_version': 6})) == [v6['id']]
    assert ids(api.list('subnets', {'cidr': '10.41.0.0/24',
                                    'network_id': net['id']})) == [v4['id']]
    assert ids(api.list('subnets', {'network_id': net['id'],
                                    'enable_dhcp': 'false'})) == [v6['id']]
    assert ids(api.list('subnets', {'name': v4['name']})) == [v4['id']]
    assert ids(api.list('networks', {'id': net['id'],
                                     'subnets': v6['id']})) == [net['id']]


# --------------------------------------------------------------------------
# Sorting and pagination
# --------------------------------------------------------------------------

def test_sort_by_one_key_both_directions(api, fleet):
    project, nets = fleet
    names = sorted(n['name'] for n in nets)
    found = api.list('networks', {'project_id': project,
                                  'sort_key': 'name', 'sort_dir': 'asc'})
    assert [n['name'] for n in found] == names
    found = api.list('networks', {'project_id': project,
                                  'sort_key': 'name', 'sort_dir': 'desc'})
    assert [n['name'] for n in found] == names[::-1]


def test_sort_by_several_keys(api, fleet):
    project, nets = fleet
    found = api.list('networks', {
        'project_id': project, 'sort_key': ['mtu', 'name'],
        'sort_dir': ['desc', 'asc']})
    expected = sorted(nets, key=lambda n: (-n['mtu'], n['name']))
    assert [n['name'] for n in found] == [n['name'] for n in expected]
    found = api.list('networks', {
        'project_id': project, 'sort_key': ['admin_state_up', 'mtu', 'name'],
        'sort_dir': ['asc', 'asc', 'desc']})
    expected = sorted(sorted(nets, key=lambda n: n['name'], reverse=True),
                      key=lambda n: (n['admin_state_up'], n['mtu']))
    assert [n['name'] for n in found] == [n['name'] for n in expected]


@pytest.mark.parametrize('params', [
    {'sort_key': 'colour', 'sort_dir': 'asc'},
    {'sort_key': 'name', 'sort_dir': 'sideways'},
    {'sort_key': ['name', 'mtu'], 'sort_dir': ['asc', 'asc', 'desc']},
    {'limit': 'ten'}, {'limit': '-1'}, {'page_reverse': 'maybe'}])
def test_invalid_sort_or_page_parameters_are_400(api, params):
    api.error(api.get('/v2.0/networks', params=params), 400)


def walk(api, first: str, rel: str, collection: str = 'networks'
         ) -> list[list[dict]]:
    """Pages from `first`, following `rel` links while pages have items."""
    pages, url = [], first
    for _ in range(50):
        body = api.ok(api.get(url))
        page = body[collection]
        if not page:
            break
        pages.append(page)
        links = {link['rel']: link['href']
                 for link in body.get(f'{collection}_links', [])}
        if rel not in links:
            break
        url = links[rel]
    else:
        pytest.fail(f'pagination from {first} did not end')
    return pages


@pytest.mark.parametrize('sort,order', [
    ({}, lambda n: n['id']),
    ({'sort_key': 'name', 'sort_dir': 'asc'}, lambda n: n['name']),
    ({'sort_key': ['mtu', 'name'], 'sort_dir': ['desc', 'asc']},
     lambda n: (-n['mtu'], n['name']))],
    ids=['default-id', 'name', 'mtu-name'])
def test_next_links_visit_every_item_once_in_order(api, fleet, sort, order):
    project, nets = fleet
    expected = ids(sorted(nets, key=order))
    query = dict({'project_id': project}, **sort)
    first = '/v2.0/networks?' + urllib.parse.urlencode(
        dict(query, limit=3), doseq=True)
    pages = walk(api, first, 'next')
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [item['id'] for page in pages for item in page] == expected


def test_marker_starts_after_the_marked_item(api, fleet):
    project, _ = fleet
    query = {'project_id': project, 'sort_key': 'name', 'sort_dir': 'asc'}
    everything = api.list('networks', query)
    page = api.list('networks', dict(query, limit=2,
                                     marker=everything[2]['id']))
    assert ids(page) == ids(everything[3:5])
    body = api.ok(api.get('/v2.0/networks', params=dict(
        query, limit=2, marker=everything[2]['id'], page_reverse='True')))
    assert ids(body['networks']) == ids(everything[0:2])
    # Without a limit there is no paging and no links.
    body = api.ok(api.get('/v2.0/networks', params=query))
    assert 'networks_links' not in body


def test_page_reverse_walks_backwards(api, fleet):
    project, _ = fleet
    query = {'project_id': project, 'sort_key': 'name', 'sort_dir': 'asc'}
    everything = ids(api.list('networks', query))
    first = '/v2.0/networks?' + urllib.parse.urlencode(
        dict(query, limit=3, page_reverse='True'), doseq=True)
    body = api.ok(api.get(first))
    # The first reversed page is the end of the list, still in list order.
    assert ids(body['networks']) == everything[-3:]
    # Neutron's get_pagination_links: a full page_reverse page has a
    # "previous" link (marker = its first item, page_reverse=True).
    rels = [link['rel'] for link in body.get('networks_links', [])]
    assert 'previous' in rels, body.get('networks_links')
    pages = walk(api, first, 'previous')
    assert [ids(p) for p in pages] == [everything[4:7], everything[1:4],
                                       everything[0:1]]


def test_pagination_links_keep_filters_and_paths_absolute(api, fleet, server):
    project, _ = fleet
    body = api.ok(api.get('/v2.0/networks', params={
        'project_id': project, 'limit': 2, 'fields': ['id', 'name']}))
    assert all(set(n) == {'id', 'name'} for n in body['networks'])
    links = {link['rel']: link['href'] for link in body['networks_links']}
    parsed = urllib.parse.urlparse(links['next'])
    assert f'{parsed.scheme}://{parsed.netloc}' == server.url
    assert parsed.path == '/v2.0/networks'
    params = urllib.parse.parse_qs(parsed.query)
    assert params['project_id'] == [project]
    assert params['limit'] == ['2']
    assert params['marker'] == [body['networks'][-1]['id']]
    assert sorted(params['fields']) == ['id', 'name']


def test_paging_ports_of_a_network(api):
    net = api.network()
    api.subnet(net['id'], '10.42.0.0/24')
    resp = api.post('/v2.0/ports', json={'ports': [
        {'network_id': net['id'], 'name': f'p{i:02d}'} for i in range(10)]})
    created = api.ok(resp, 201)['ports']
    assert len(created) == 10
    first = (f"/v2.0/ports?network_id={net['id']}&sort_key=name"
             '&sort_dir=desc&limit=4')
    pages = walk(api, first, 'next', 'ports')
    assert [p['name'] for page in pages for p in page] == [
        f'p{i:02d}' for i in range(9, -1, -1)]


# --------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------

def test_root_lists_v2(api, server):
    versions = api.ok(api.get('/'))['versions']
    v2 = [v for v in versions if v['id'] == 'v2.0']
    assert len(v2) == 1 and v2[0]['status'] == 'CURRENT'
    assert {'rel': 'self', 'href': f'{server.url}/v2.0/'} in v2[0]['links']


@pytest.mark.parametrize('path', ['/v2.0', '/v2.0/'])
def test_v2_root_lists_resources(api, server, path):
    resources = api.ok(api.get(path))['resources']
    by_name = {r['name']: r for r in resources}
    for name in ('network', 'subnet', 'port'):
        assert by_name[name]['collection'] == name + 's'
        assert {'rel': 'self', 'href': f'{server.url}/v2.0/{name}s'} in \
            by_name[name]['links']


def test_extensions_are_listed_and_shown(api):
    extensions = api.ok(api.get('/v2.0/extensions'))['extensions']
    assert extensions
    for ext in extensions:
        assert {'alias', 'name', 'description', 'updated', 'links'} <= set(ext)
        assert isinstance(ext['links'], list)
        assert ext['alias'] and ext['name'] and ext['description']
    aliases = {e['alias'] for e in extensions}
    assert {'binding', 'extra_dhcp_opt', 'quotas', 'pagination', 'sorting',
            'standard-attr-revisions', 'standard-attr-timestamp',
            'project-id', 'net-mtu'} <= aliases
    shown = api.ok(api.get('/v2.0/extensions/extra_dhcp_opt'))['extension']
    assert shown == next(e for e in extensions
                         if e['alias'] == 'extra_dhcp_opt')


# --------------------------------------------------------------------------
# Standard attributes and bulk
# --------------------------------------------------------------------------

def test_timestamps_and_revision_number(api):
    net = api.network()
    assert TIMESTAMP.match(net['created_at']), net
    assert TIMESTAMP.match(net['updated_at']), net
    assert net['revision_number'] == 0
    time.sleep(1.1)
    updated = api.update('network', net['id'], name=unique())
    assert updated['revision_number'] == 1
    assert updated['created_at'] == net['created_at']
    assert updated['updated_at'] > net['created_at']
    updated = api.update('network', net['id'], admin_state_up=False)
    assert updated['revision_number'] == 2
    assert api.show('network', net['id'])['revision_number'] == 2

    sub = api.subnet(net['id'], '10.43.0.0/24')
    port = api.port(net['id'])
    for resource, item in (('subnet', sub), ('port', port)):
        assert item['revision_number'] == 0
        assert TIMESTAMP.match(item['created_at'])
        again = api.update(resource, item['id'], name='renamed')
        assert again['revision_number'] == 1
        assert again['updated_at'] >= again['created_at']


def test_tenant_id_equals_project_id(api, member, project):
    net = api.network(headers=member(project))
    sub = api.subnet(net['id'], '10.44.0.0/24', headers=member(project))
    port = api.port(net['id'], headers=member(project))
    for item in (net, sub, port):
        assert item['project_id'] == item['tenant_id'] == project
    admin_net = api.network(tenant_id=project)
    assert admin_net['project_id'] == project
    for item in api.list('networks', {'tenant_id': project}):
        assert item['tenant_id'] == item['project_id'] == project


def test_bulk_create_networks_returns_all(api):
    names = [unique('bulk') for _ in range(4)]
    resp = api.post('/v2.0/networks', json={'networks': [
        {'name': n, 'mtu': 1400 + i} for i, n in enumerate(names)]})
    created = api.ok(resp, 201)['networks']
    assert [n['name'] for n in created] == names
    assert [n['mtu'] for n in created] == [1400, 1401, 1402, 1403]
    assert len(set(ids(created))) == 4
    listed = api.list('networks', {'name': names})
    assert sorted(ids(listed)) == sorted(ids(created))


def test_bulk_create_subnets(api):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnets': [
        {'network_id': net['id'], 'cidr': '10.45.0.0/24', 'ip_version': 4},
        {'network_id': net['id'], 'cidr': '2001:db8:45::/64',
         'ip_version': 6}]})
    created = api.ok(resp, 201)['subnets']
    assert [s['cidr'] for s in created] == ['10.45.0.0/24',
                                            '2001:db8:45::/64']
    assert sorted(api.show('network', net['id'])['subnets']) == \
        sorted(ids(created))


def test_bulk_create_is_all_or_nothing(api):
    net = api.network()
    api.subnet(net['id'], '10.46.0.0/24')
    api.port(net['id'], fixed_ips=[{'ip_address': '10.46.0.50'}])
    before = api.list('ports', {'network_id': net['id']})
    resp = api.post('/v2.0/ports', json={'ports': [
        {'network_id': net['id'], 'name': 'one'},
        {'network_id': net['id'], 'name': 'two',
         'fixed_ips': [{'ip_address': '10.46.0.60'}]},
        {'network_id': net['id'], 'name': 'three',
         'fixed_ips': [{'ip_address': '10.46.0.50'}]}]})
    api.error(resp, 409, 'IpAddressAlreadyAllocated')
    after = api.list('ports', {'network_id': net['id']})
    assert ids(after) == ids(before)
    # Nothing of the failed bulk is held: its addresses are still free.
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.46.0.60'}])
    assert port['fixed_ips'][0]['ip_address'] == '10.46.0.60'

    # A validation error in the last item also creates nothing.
    names = [unique('bulk'), unique('bulk')]
    resp = api.post('/v2.0/networks', json={'networks': [
        {'name': names[0]}, {'name': names[1], 'mtu': 'big'}]})
    api.error(resp, 400)
    assert api.list('networks', {'name': names}) == []


# --------------------------------------------------------------------------
# Subnets
# --------------------------------------------------------------------------

def test_ipv4_subnet_defaults(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.47.0.0/24')
    assert sub['gateway_ip'] == '10.47.0.1'
    assert sub['allocation_pools'] == [{'start': '10.47.0.2',
                                        'end': '10.47.0.254'}]
    assert sub['enable_dhcp'] is True
    assert sub['dns_nameservers'] == [] and sub['host_routes'] == []
    assert sub['ipv6_ra_mode'] is None and sub['ipv6_address_mode'] is None
    assert sub['network_id'] == net['id'] and sub['ip_version'] == 4
    assert api.show('network', net['id'])['subnets'] == [sub['id']]


def test_ipv6_subnet_defaults(api):
    net = api.network()
    sub = api.subnet(net['id'], '2001:db8::/64')
    assert sub['gateway_ip'] == '2001:db8::'
    assert sub['allocation_pools'][0]['start'] == '2001:db8::1'
    assert sub['allocation_pools'][-1]['end'] == \
        '2001:db8::ffff:ffff:ffff:ffff'


def test_subnet_without_gateway(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.48.0.0/24', gateway_ip=None)
    assert sub['gateway_ip'] is None
    assert sub['allocation_pools'] == [{'start': '10.48.0.1',
                                        'end': '10.48.0.254'}]
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.48.0.1'}])
    assert port['fixed_ips'][0]['ip_address'] == '10.48.0.1'


def test_subnet_with_explicit_gateway_and_pools(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.49.0.0/24', gateway_ip='10.49.0.254',
                     allocation_pools=[
                         {'start': '10.49.0.100', 'end': '10.49.0.109'},
                         {'start': '10.49.0.10', 'end': '10.49.0.19'}])
    assert sub['gateway_ip'] == '10.49.0.254'
    assert sorted(sub['allocation_pools'], key=lambda p: p['start']) == [
        {'start': '10.49.0.10', 'end': '10.49.0.19'},
        {'start': '10.49.0.100', 'end': '10.49.0.109'}]
    sub = api.subnet(api.network()['id'], '10.50.0.0/24',
                     gateway_ip='10.50.0.77')
    pools = sub['allocation_pools']
    assert {'start': '10.50.0.1', 'end': '10.50.0.76'} in pools
    assert {'start': '10.50.0.78', 'end': '10.50.0.254'} in pools


def test_subnet_updates(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.51.0.0/24')
    updated = api.update(
        'subnet', sub['id'],
        allocation_pools=[{'start': '10.51.0.100', 'end': '10.51.0.110'}],
        gateway_ip='10.51.0.254',
        dns_nameservers=['192.0.2.53', '192.0.2.1'],
        host_routes=[{'destination': '192.168.0.0/16',
                      'nexthop': '10.51.0.5'}],
        enable_dhcp=False, name='renamed')
    shown = api.show('subnet', sub['id'])
    for item in (updated, shown):
        assert item['allocation_pools'] == [{'start': '10.51.0.100',
                                             'end': '10.51.0.110'}]
        assert item['gateway_ip'] == '10.51.0.254'
        assert item['dns_nameservers'] == ['192.0.2.53', '192.0.2.1']
        assert item['host_routes'] == [{'destination': '192.168.0.0/16',
                                        'nexthop': '10.51.0.5'}]
        assert item['enable_dhcp'] is False
        assert item['name'] == 'renamed'
        assert item['cidr'] == '10.51.0.0/24'
    port = api.port(net['id'])
    address = ipaddress.ip_address(port['fixed_ips'][0]['ip_address'])
    assert ipaddress.ip_address('10.51.0.100') <= address <= \
        ipaddress.ip_address('10.51.0.110')

    # The DNS order is kept; empty lists clear; null gateway removes it.
    updated = api.update('subnet', sub['id'],
                         dns_nameservers=['192.0.2.1', '192.0.2.53'],
                         host_routes=[], gateway_ip=None)
    assert updated['dns_nameservers'] == ['192.0.2.1', '192.0.2.53']
    assert updated['host_routes'] == []
    assert updated['gateway_ip'] is None
    updated = api.update('subnet', sub['id'], dns_nameservers=[],
                         enable_dhcp=True)
    assert updated['dns_nameservers'] == [] and updated['enable_dhcp']
    shown = api.show('subnet', sub['id'])
    assert shown['dns_nameservers'] == [] and shown['gateway_ip'] is None
    assert shown['revision_number'] > updated['revision_number'] - 1 > 0


# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

def test_port_defaults_and_generated_macs(api):
    net = api.network()
    api.subnet(net['id'], '10.52.0.0/24')
    ports = [api.port(net['id']) for _ in range(5)]
    macs = [p['mac_address'] for p in ports]
    assert all(re.fullmatch(r'fa:16:3e(:[0-9a-f]{2}){3}', m) for m in macs)
    assert len(set(macs)) == 5
    port = ports[0]
    assert port['admin_state_up'] is True
    assert port['status'] == 'DOWN'
    assert port['device_owner'] == '' and port['device_id'] == ''
    assert port['extra_dhcp_opts'] == []
    assert port['binding:vnic_type'] == 'normal'
    assert port['binding:host_id'] == ''


@pytest.mark.parametrize('given', [
    'FA:16:3E:0A:0B:0C', 'fa-16-3e-0a-0b-0c', 'fa163e0a0b0c',
    'fa16.3e0a.0b0c'], ids=['upper', 'dashes', 'bare', 'cisco'])
def test_mac_address_forms_are_normalised(api, given):
    # Neutron validates with netaddr.valid_mac and stores
    # convert_to_sanitized_mac_address(): every form netaddr reads is
    # accepted and shown as lower-case colon-separated octets.
    net = api.network()
    port = api.port(net['id'], mac_address=given)
    assert port['mac_address'] == 'fa:16:3e:0a:0b:0c'
    found = api.list('ports', {'network_id': net['id'],
                               'mac_address': 'fa:16:3e:0a:0b:0c'})
    assert ids(found) == [port['id']]


def test_port_gets_one_address_per_family_and_every_slaac_address(api):
    net = api.network()
    v4 = api.subnet(net['id'], '10.53.0.0/24')
    v4b = api.subnet(net['id'], '10.54.0.0/24')
    stateful = api.subnet(net['id'], '2001:db8:53::/64',
                          ipv6_ra_mode='dhcpv6-stateful',
                          ipv6_address_mode='dhcpv6-stateful')
    slaac1 = api.subnet(net['id'], '2001:db8:54::/64', ipv6_ra_mode='slaac',
                        ipv6_address_mode='slaac')
    slaac2 = api.subnet(net['id'], '2001:db8:55::/64',
                        ipv6_address_mode='slaac')
    port = api.port(net['id'])
    by_subnet = {ip['subnet_id']: ip['ip_address']
                 for ip in port['fixed_ips']}
    assert len(port['fixed_ips']) == 4, port['fixed_ips']
    v4_subnets = {v4['id']: v4['cidr'], v4b['id']: v4b['cidr']}
    chosen = [s for s in by_subnet if s in v4_subnets]
    assert len(chosen) == 1
    assert ipaddress.ip_address(by_subnet[chosen[0]]) in \
        ipaddress.ip_network(v4_subnets[chosen[0]])
    assert ipaddress.ip_address(by_subnet[stateful['id']]) in \
        ipaddress.ip_network(stateful['cidr'])
    assert by_subnet[slaac1['id']] == eui64(slaac1['cidr'],
                                            port['mac_address'])
    assert by_subnet[slaac2['id']] == eui64(slaac2['cidr'],
                                            port['mac_address'])
    # A port is found by its SLAAC address.
    found = api.list('ports', {
        'fixed_ips': f"ip_address={by_subnet[slaac1['id']]}"})
    assert ids(found) == [port['id']]


def test_slaac_subnet_added_later_addresses_existing_ports(api):
    net = api.network()
    api.subnet(net['id'], '10.55.0.0/24')
    port = api.port(net['id'])
    slaac = api.subnet(net['id'], '2001:db8:56::/64', ipv6_ra_mode='slaac',
                       ipv6_address_mode='slaac')
    fixed = api.show('port', port['id'])['fixed_ips']
    assert {'subnet_id': slaac['id'],
            'ip_address': eui64(slaac['cidr'], port['mac_address'])} in fixed
    assert len(fixed) == 2


def test_port_fixed_ips_by_subnet_and_by_address(api):
    net = api.network()
    a = api.subnet(net['id'], '10.56.0.0/24')
    b = api.subnet(net['id'], '10.57.0.0/24')
    port = api.port(net['id'], fixed_ips=[{'subnet_id': b['id']}])
    assert len(port['fixed_ips']) == 1
    assert port['fixed_ips'][0]['subnet_id'] == b['id']
    assert ipaddress.ip_address(port['fixed_ips'][0]['ip_address']) in \
        ipaddress.ip_network('10.57.0.0/24')
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.56.0.77'}])
    assert port['fixed_ips'] == [{'subnet_id': a['id'],
                                  'ip_address': '10.56.0.77'}]
    port = api.port(net['id'], fixed_ips=[
        {'subnet_id': a['id'], 'ip_address': '10.56.0.78'},
        {'subnet_id': b['id'], 'ip_address': '10.57.0.78'}])
    assert sorted(ip['ip_address'] for ip in port['fixed_ips']) == [
        '10.56.0.78', '10.57.0.78']
    # An address outside the pool but inside the subnet may be asked for.
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.56.0.1'}])
    assert port['fixed_ips'][0]['ip_address'] == '10.56.0.1'
    port = api.port(net['id'], fixed_ips=[])
    assert port['fixed_ips'] == []


def test_updating_fixed_ips_swaps_addresses(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.58.0.0/24')
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.58.0.10'}])
    updated = api.update('port', port['id'],
                         fixed_ips=[{'ip_address': '10.58.0.20'}])
    assert updated['fixed_ips'] == [{'subnet_id': sub['id'],
                                     'ip_address': '10.58.0.20'}]
    # The old address is free again, the new one is not.
    other = api.port(net['id'], fixed_ips=[{'ip_address': '10.58.0.10'}])
    assert other['fixed_ips'][0]['ip_address'] == '10.58.0.10'
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'fixed_ips': [{'ip_address': '10.58.0.20'}]}})
    api.error(resp, 409, 'IpAddressAlreadyAllocated')
    # Keeping one address and adding another.
    updated = api.update('port', port['id'], fixed_ips=[
        {'ip_address': '10.58.0.20'}, {'subnet_id': sub['id']}])
    addresses = [ip['ip_address'] for ip in updated['fixed_ips']]
    assert '10.58.0.20' in addresses and len(addresses) == 2
    updated = api.update('port', port['id'], fixed_ips=[])
    assert updated['fixed_ips'] == []
    again = api.port(net['id'], fixed_ips=[{'ip_address': '10.58.0.20'}])
    assert again['fixed_ips'][0]['ip_address'] == '10.58.0.20'


def test_failed_fixed_ips_update_changes_nothing(api):
    net = api.network()
    api.subnet(net['id'], '10.59.0.0/24')
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.59.0.10'}])
    api.port(net['id'], fixed_ips=[{'ip_address': '10.59.0.11'}])
    resp = api.put(f"/v2.0/ports/{port['id']}", json={'port': {'fixed_ips': [
        {'ip_address': '10.59.0.12'}, {'ip_address': '10.59.0.11'}]}})
    api.error(resp, 409, 'IpAddressAlreadyAllocated')
    shown = api.show('port', port['id'])
    assert [ip['ip_address'] for ip in shown['fixed_ips']] == ['10.59.0.10']
    assert shown['revision_number'] == 0
    # Neither the old address was released nor the new one taken.
    resp = api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'fixed_ips': [{'ip_address': '10.59.0.10'}]}})
    api.error(resp, 409, 'IpAddressAlreadyAllocated')
    third = api.port(net['id'], fixed_ips=[{'ip_address': '10.59.0.12'}])
    assert third['fixed_ips'][0]['ip_address'] == '10.59.0.12'


def test_extra_dhcp_opts_update_semantics(api):
    net = api.network()
    api.subnet(net['id'], '10.60.0.0/24')
    port = api.port(net['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': 'pxelinux.0'},
        {'opt_name': 'tftp-server', 'opt_value': '192.0.2.10'},
        {'opt_name': 'dns-server', 'opt_value': '2001:db8::53',
         'ip_version': 6}])

    def opts(item):
        return {(o['opt_name'], o['ip_version']): o['opt_value']
                for o in item['extra_dhcp_opts']}

    assert opts(port) == {('bootfile-name', 4): 'pxelinux.0',
                          ('tftp-server', 4): '192.0.2.10',
                          ('dns-server', 6): '2001:db8::53'}
    # Listed options change or are added; null removes; others are kept.
    updated = api.update('port', port['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': None},
        {'opt_name': 'tftp-server', 'opt_value': '192.0.2.20'},
        {'opt_name': 'server-ip-address', 'opt_value': '192.0.2.30'}])
    expected = {('tftp-server', 4): '192.0.2.20',
                ('server-ip-address', 4): '192.0.2.30',
                ('dns-server', 6): '2001:db8::53'}
    assert opts(updated) == expected
    assert opts(api.show('port', port['id'])) == expected
    # An update without extra_dhcp_opts leaves them alone.
    assert opts(api.update('port', port['id'], name='x')) == expected
    # Removing an option that is not there is fine.
    updated = api.update('port', port['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': None},
        {'opt_name': 'dns-server', 'opt_value': None, 'ip_version': 6}])
    assert opts(updated) == {('tftp-server', 4): '192.0.2.20',
                             ('server-ip-address', 4): '192.0.2.30'}


def test_port_updates(api):
    net = api.network()
    port = api.port(net['id'])
    updated = api.update('port', port['id'], name='web', admin_state_up=False,
                         device_id='vm-1', device_owner='compute:az1',
                         description='front end',
                         **{'binding:host_id': 'compute-3',
                            'binding:vnic_type': 'direct'})
    assert updated['name'] == 'web'
    assert updated['admin_state_up'] is False
    assert updated['device_id'] == 'vm-1'
    assert updated['device_owner'] == 'compute:az1'
    assert updated['description'] == 'front end'
    assert updated['binding:host_id'] == 'compute-3'
    assert updated['binding:vnic_type'] == 'direct'
    assert updated['mac_address'] == port['mac_address']
    assert api.show('port', port['id']) == updated
    updated = api.update('port', port['id'], mac_address='fa:16:3e:61:00:01')
    assert updated['mac_address'] == 'fa:16:3e:61:00:01'


def test_deleting_a_network_removes_its_dhcp_ports(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.61.0.0/24')
    dhcp = api.port(net['id'], device_owner='network:dhcp',
                    device_id='dhcp-agent-1')
    assert dhcp['fixed_ips'][0]['subnet_id'] == sub['id']
    api.remove('network', net['id'])
    api.error(api.get(f"/v2.0/ports/{dhcp['id']}"), 404, 'PortNotFound')
    api.error(api.get(f"/v2.0/subnets/{sub['id']}"), 404, 'SubnetNotFound')
    assert api.list('ports', {'network_id': net['id']}) == []


def test_deleting_a_subnet_takes_the_dhcp_port_address_with_it(api):
    net = api.network()
    keep = api.subnet(net['id'], '10.62.0.0/24')
    gone = api.subnet(net['id'], '10.63.0.0/24')
    dhcp = api.port(net['id'], device_owner='network:dhcp', fixed_ips=[
        {'subnet_id': keep['id']}, {'subnet_id': gone['id']}])
    assert len(dhcp['fixed_ips']) == 2
    api.remove('subnet', gone['id'])
    fixed = api.show('port', dhcp['id'])['fixed_ips']
    assert [ip['subnet_id'] for ip in fixed] == [keep['id']]
    assert api.show('network', net['id'])['subnets'] == [keep['id']]


def test_deleting_a_port_frees_its_addresses(api):
    net = api.network()
    api.subnet(net['id'], '10.64.0.0/24')
    port = api.port(net['id'], fixed_ips=[{'ip_address': '10.64.0.9'}],
                    mac_address='fa:16:3e:64:00:09')
    api.remove('port', port['id'])
    api.error(api.delete(f"/v2.0/ports/{port['id']}"), 404, 'PortNotFound')
    again = api.port(net['id'], fixed_ips=[{'ip_address': '10.64.0.9'}],
                     mac_address='fa:16:3e:64:00:09')
    assert again['fixed_ips'][0]['ip_address'] == '10.64.0.9'
