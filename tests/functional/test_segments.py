"""VXLAN and VLAN segments: project networks get a VNI from [ml2_type_vxlan]
vni_ranges ([ml2] tenant_network_types = vxlan), admins name VNIs and VLANs
of [ml2_type_vlan] network_vlan_ranges -- or outside the ranges -- with
Neutron's validation, its 409s for an id in use and 503 when the ranges are
exhausted, an MTU the segment carries, ids given back on delete, and
ranges re-read at restart without taking an id from a network."""
from __future__ import annotations

import pytest
import requests

from tests.support.rest import Api, unique
from tests.support.server import KaonServer

NT, PN, SEG = ('provider:network_type', 'provider:physical_network',
               'provider:segmentation_id')
VNIS = (1000, 1999)
RANGES = {'ml2': {'tenant_network_types': 'vxlan'},
          'ml2_type_vxlan': {'vni_ranges': f'{VNIS[0]}:{VNIS[1]}'},
          'ml2_type_vlan': {'network_vlan_ranges':
                            'physnet1:100:199,physnet2'}}


@pytest.fixture(scope='module')
def seg_api() -> Api:
    with KaonServer(sections=RANGES) as srv:
        api = Api(srv.url)
        api.ok(api.put('/v2.0/quotas/admin', json={'quota': {
            'network': -1}}))
        yield api


def _provider(net: dict) -> tuple:
    return net[NT], net[PN], net[SEG]


def _create(url: str, **attrs) -> requests.Response:
    """A raw POST: the Api wrapper refuses a 5xx, and 503 is an answer."""
    return requests.post(url + '/v2.0/networks', timeout=60,
                         json={'network': {'name': unique(), **attrs}})


def test_project_networks_get_a_vni_of_the_range_and_mtu_1450(
        seg_api, member, project):
    mine = seg_api.network(headers=member(project))
    assert not {NT, PN, SEG} & set(mine)    # admin-only attributes
    assert mine['mtu'] == 1450              # 1500 - 20 (IPv4) - 30 (VXLAN)
    shown = seg_api.show('network', mine['id'])
    network_type, physnet, vni = _provider(shown)
    assert (network_type, physnet) == ('vxlan', None)
    assert VNIS[0] <= vni <= VNIS[1]
    other = seg_api.network(headers=member(project))
    assert seg_api.show('network', other['id'])[SEG] != vni


def test_admin_vxlan_with_a_vni_and_taken_is_409(seg_api):
    for vni in (1500, 5000):                # inside and outside the range
        net = seg_api.network(**{NT: 'vxlan', SEG: vni})
        assert _provider(net) == ('vxlan', None, vni)
        assert net['mtu'] == 1450
        resp = seg_api.post('/v2.0/networks', json={'network': {
            NT: 'vxlan', SEG: vni}})
        err = seg_api.error(resp, 409, 'TunnelIdInUse')
        assert err['message'] == ('Unable to create the network. The '
                                  f'tunnel ID {vni} is in use.')
        # Deleting the network gives the VNI back.
        seg_api.remove('network', net['id'])
        again = seg_api.network(**{NT: 'vxlan', SEG: vni})
        assert again[SEG] == vni


def test_admin_vlan_allocated_given_and_taken_is_409(seg_api):
    allocated = seg_api.network(**{NT: 'vlan', PN: 'physnet1'})
    assert allocated[NT] == 'vlan' and allocated[PN] == 'physnet1'
    assert 100 <= allocated[SEG] <= 199
    assert allocated['mtu'] == 1500
    for physnet, vlan in (('physnet1', 150), ('physnet1', 300),
                          ('physnet2', 4094)):
        net = seg_api.network(**{NT: 'vlan', PN: physnet, SEG: vlan})
        assert _provider(net) == ('vlan', physnet, vlan)
        resp = seg_api.post('/v2.0/networks', json={'network': {
            NT: 'vlan', PN: physnet, SEG: vlan}})
        err = seg_api.error(resp, 409, 'VlanIdInUse')
        assert err['message'] == (
            f'Unable to create the network. The VLAN {vlan} on physical '
            f'network {physnet} is in use.')
        seg_api.remove('network', net['id'])
        seg_api.remove('network', seg_api.network(**{
            NT: 'vlan', PN: physnet, SEG: vlan})['id'])
    # One VLAN id is one network per physical network only.
    seg_api.network(**{NT: 'vlan', PN: 'physnet2', SEG: allocated[SEG]})


def test_filters_on_segments(seg_api):
    vxlan = seg_api.network(**{NT: 'vxlan', SEG: 1998})
    vlan = seg_api.network(**{NT: 'vlan', PN: 'physnet2', SEG: 1998})
    ids = {vxlan['id'], vlan['id']}

    def found(**filters) -> set[str]:
        listed = seg_api.list('networks', filters)
        return {n['id'] for n in listed} & ids
    assert found(**{SEG: 1998}) == ids
    assert found(**{SEG: [1998, 7]}) == ids
    assert found(**{NT: 'vxlan', SEG: 1998}) == {vxlan['id']}
    assert found(**{NT: ['vlan'], PN: 'physnet2', SEG: 1998}) == \
        {vlan['id']}
    assert found(**{PN: 'physnet1', SEG: 1998}) == set()
    resp = seg_api.get('/v2.0/networks', params={SEG: 1998})
    assert {n['id'] for n in seg_api.ok(resp)['networks']} == ids


@pytest.mark.parametrize('attrs,message', [
    ({NT: 'vxlan', PN: 'physnet1'},
     'provider:physical_network specified for vxlan network'),
    ({NT: 'vxlan', SEG: 0}, 'segmentation_id out of range (1 through '
     '16777215)'),
    ({NT: 'vxlan', SEG: 2 ** 24}, 'segmentation_id out of range (1 through '
     '16777215)'),
    ({NT: 'vlan', PN: 'physnet9'},
     "physical_network 'physnet9' unknown for VLAN provider network"),
    ({NT: 'vlan', PN: 'physnet1', SEG: 0},
     'segmentation_id out of range (1 through 4094)'),
    ({NT: 'vlan', PN: 'physnet2', SEG: 4095},
     'segmentation_id out of range (1 through 4094)'),
    ({NT: 'vlan', SEG: 120},
     'segmentation_id requires physical_network for VLAN provider network'),
    ({NT: 'vxlan', SEG: 1990, 'mtu': 1451},
     'Requested MTU is too big, maximum is 1450'),
    ({'mtu': 1500}, 'Requested MTU is too big, maximum is 1450'),
    ({NT: 'vlan', PN: 'physnet1', SEG: 190, 'mtu': 1501},
     'Requested MTU is too big, maximum is 1500'),
], ids=lambda a: str(a)[:48])
def test_invalid_segments_are_400_and_take_nothing(seg_api, attrs, message):
    name = unique()
    resp = seg_api.post('/v2.0/networks', json={'network': dict(
        attrs, name=name)})
    err = seg_api.error(resp, 400, 'InvalidInput', message)
    assert err['message'] == f'Invalid input for operation: {message}.'
    assert seg_api.list('networks', {'name': name}) == []
    if attrs.get(SEG) and 'mtu' in attrs:   # the id taken was given back
        seg_api.remove('network', seg_api.network(**{
            k: v for k, v in attrs.items() if k != 'mtu'})['id'])


def test_mtu_updates_stay_within_the_segment(seg_api):
    net = seg_api.network(mtu=1400)
    assert net['mtu'] == 1400
    assert seg_api.update('network', net['id'], mtu=0)['mtu'] == 1450
    resp = seg_api.put(f"/v2.0/networks/{net['id']}", json={'network': {
        'mtu': 1451}})
    seg_api.error(resp, 400, 'InvalidInput',
                  'Requested MTU is too big, maximum is 1450')
    vni = seg_api.show('network', net['id'])[SEG]
    resp = seg_api.put(f"/v2.0/networks/{net['id']}", json={'network': {
        SEG: vni + 1}})
    seg_api.error(resp, 400, 'InvalidInput', 'Plugin does not support '
                  'updating the following provider network attributes: '
                  'provider:segmentation_id')
    assert seg_api.update('network', net['id'], **{
        NT: 'vxlan', SEG: vni})[SEG] == vni


def _restart(srv: KaonServer, vni_ranges: str) -> Api:
    """The same database and state, served again with other ranges."""
    srv.stop()
    with open(srv.config) as f:
        lines = [f'vni_ranges = {vni_ranges}' if ln.startswith('vni_ranges')
                 else ln for ln in f.read().splitlines()]
    with open(srv.config, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    srv.start()
    return Api(srv.url)


def _vni(api: Api, net: dict) -> int:
    return int(api.show('network', net['id'])[SEG])


def test_exhausted_is_503_and_ranges_shrink_at_restart_keep_ids():
    with KaonServer(sections={'ml2': {'tenant_network_types': 'vxlan'},
                              'ml2_type_vxlan': {'vni_ranges': '1:3'}}
                    ) as srv:
        api = Api(srv.url)
        nets = [api.network() for _ in range(3)]
        assert sorted(_vni(api, n) for n in nets) == [1, 2, 3]
        resp = _create(srv.url)
        assert resp.status_code == 503, resp.text
        assert resp.json()['NeutronError'] == {
            'type': 'NoNetworkAvailable', 'detail': '',
            'message': 'Unable to create the network. No project network '
                       'is available for allocation.'}
        # A VNI given back is the next one taken.
        by_vni = {_vni(api, n): n for n in nets}
        api.remove('network', by_vni[2]['id'])
        by_vni[2] = api.network()
        assert _vni(api, by_vni[2]) == 2

        api = _restart(srv, '1:1')
        # Networks keep their VNIs outside the range; those stay taken.
        assert {v: _vni(api, n) for v, n in by_vni.items()} == \
            {1: 1, 2: 2, 3: 3}
        assert _create(srv.url).status_code == 503
        resp = api.post('/v2.0/networks', json={'network': {
            NT: 'vxlan', SEG: 3}})
        api.error(resp, 409, 'TunnelIdInUse')
        # Given back outside the range: free for an admin, not for projects.
        api.remove('network', by_vni[3]['id'])
        assert _create(srv.url).status_code == 503
        assert api.network(**{NT: 'vxlan', SEG: 3})[SEG] == 3

        api = _restart(srv, '1:5')
        assert sorted(_vni(api, api.network()) for _ in range(2)) == [4, 5]
        assert _create(srv.url).status_code == 503


def test_tenant_network_types_are_tried_in_order():
    with KaonServer(sections={
            'ml2': {'tenant_network_types': 'vxlan,vlan'},
            'ml2_type_vxlan': {'vni_ranges': '7:7'},
            'ml2_type_vlan': {'network_vlan_ranges': 'physnet1:10:10'}}
            ) as srv:
        api = Api(srv.url)
        first, second = api.network(), api.network()
        assert _provider(first) == ('vxlan', None, 7)
        assert first['mtu'] == 1450
        assert _provider(second) == ('vlan', 'physnet1', 10)
        assert second['mtu'] == 1500
        resp = _create(srv.url)
        assert resp.status_code == 503, resp.text


def test_physical_network_mtus_and_path_mtu_lower_the_maximum():
    with KaonServer(options={'global_physnet_mtu': 9000}, sections={
            'ml2': {'path_mtu': 1600,
                    'physical_network_mtus': 'physnet1:1400'},
            'ml2_type_vlan': {'network_vlan_ranges': 'physnet1,physnet2'}}
            ) as srv:
        api = Api(srv.url)
        assert api.network(**{NT: 'vxlan', SEG: 9})['mtu'] == 1550
        assert api.network(**{NT: 'vlan', PN: 'physnet1'})['mtu'] == 1400
        assert api.network(**{NT: 'vlan', PN: 'physnet2'})['mtu'] == 9000
        assert api.network(**{NT: 'flat', PN: 'physnet1'})['mtu'] == 1400
        assert api.network()['mtu'] == 9000     # local


@pytest.mark.parametrize('section,option,value', [
    ('ml2_type_vxlan', 'vni_ranges', '10:5'),
    ('ml2_type_vxlan', 'vni_ranges', '1:16777216'),
    ('ml2_type_vxlan', 'vni_ranges', 'ten:20'),
    ('ml2_type_vlan', 'network_vlan_ranges', 'physnet1:1:4095'),
    ('ml2_type_vlan', 'network_vlan_ranges', 'physnet1:5'),
    ('ml2_type_vlan', 'network_vlan_ranges', ':1:5'),
    ('ml2', 'tenant_network_types', 'gre'),
    ('ml2', 'physical_network_mtus', 'physnet1'),
])
def test_a_bad_range_refuses_the_start_naming_the_option(section, option,
                                                         value):
    srv = KaonServer(sections={section: {option: value}})
    with pytest.raises(RuntimeError, match='kaon server exited') as err:
        with srv:
            pass
    assert f'[{section}] {option}: ' in str(err.value), str(err.value)
    assert repr(value.split(',')[0]) in str(err.value)
