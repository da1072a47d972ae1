"""The provider extension: a network's provider:network_type,
physical_network and segmentation_id, validated as ML2's flat and local
type drivers do, admin-only as in Neutron's policy, and list filters."""
from __future__ import annotations

import datetime
import os

import pytest
from sqlalchemy import insert

from kaon.db import migrate
from kaon.db.engine import Database
from kaon.db.models import networks
from tests.support.rest import Api, unique
from tests.support.server import KaonServer

NT, PN, SEG = ('provider:network_type', 'provider:physical_network',
               'provider:segmentation_id')


def _provider(net: dict) -> tuple:
    return net[NT], net[PN], net[SEG]


def test_extension_is_advertised(api):
    api.ok(api.get('/v2.0/extensions/provider'))


def test_networks_are_local_unless_the_admin_says_otherwise(api, member,
                                                            project):
    net = api.network()
    assert _provider(net) == ('local', None, None)
    assert _provider(api.show('network', net['id'])) == ('local', None, None)
    mine = api.network(headers=member(project))
    assert not {NT, PN, SEG} & set(mine)
    assert _provider(api.show('network', mine['id'])) == ('local', None,
                                                          None)


def test_flat_network_on_a_physical_network_and_in_use(api):
    physnet = unique('phys')
    net = api.network(**{NT: 'flat', PN: physnet})
    assert _provider(net) == ('flat', physnet, None)
    resp = api.post('/v2.0/networks', json={'network': {
        'name': unique(), NT: 'flat', PN: physnet}})
    err = api.error(resp, 409, 'FlatNetworkInUse')
    assert physnet in err['message']
    # Deleting the network frees the physical network.
    api.remove('network', net['id'])
    api.network(**{NT: 'flat', PN: physnet})


@pytest.mark.parametrize('attrs,message', [
    ({NT: 'flat'}, 'physical_network required for flat provider network'),
    ({NT: 'flat', PN: 'p', SEG: 5},
     'provider:segmentation_id prohibited for flat provider network'),
    ({NT: 'local', PN: 'p'},
     'provider:physical_network prohibited for local provider network'),
    ({NT: 'local', SEG: 7},
     'provider:segmentation_id prohibited for local provider network'),
    ({NT: 'gre'}, "network_type value 'gre' not supported"),
    ({NT: ''}, 'network_type required'),
    ({PN: 'p'}, 'network_type required'),
    ({NT: 'flat', PN: 'x' * 65}, 'exceeds maximum length'),
    ({NT: 'local', SEG: 'abc'}, 'is not an integer'),
    ({NT: ['flat']}, 'is not a valid string'),
], ids=lambda a: str(a)[:40])
def test_invalid_provider_attributes_are_400(api, attrs, message):
    name = unique()
    resp = api.post('/v2.0/networks', json={'network': dict(attrs,
                                                             name=name)})
    api.error(resp, 400, message=message)
    assert api.list('networks', {'name': name}) == []


def test_members_may_not_set_or_filter_them(api, member, project):
    headers = member(project)
    resp = api.post('/v2.0/networks', headers=headers, json={'network': {
        'name': unique(), NT: 'local'}})
    api.error(resp, 403)
    net = api.network(headers=headers)
    resp = api.put(f"/v2.0/networks/{net['id']}", headers=headers,
                   json={'network': {NT: 'local'}})
    api.error(resp, 403)
    resp = api.get('/v2.0/networks', headers=headers,
                   params={NT: 'local'})
    api.error(resp, 400)


def test_updates_may_only_repeat_them(api):
    physnet = unique('phys')
    net = api.network(**{NT: 'flat', PN: physnet})
    same = api.update('network', net['id'], **{NT: 'flat', PN: physnet,
                                                'name': 'renamed'})
    assert _provider(same) == ('flat', physnet, None)
    for attrs in ({NT: 'local'}, {PN: 'other'}):
        resp = api.put(f"/v2.0/networks/{net['id']}",
                       json={'network': attrs})
        api.error(resp, 400, 'InvalidInput', 'does not support updating')
    resp = api.put(f"/v2.0/networks/{net['id']}", json={'network': {
        SEG: 10}})
    api.error(resp, 400, message='prohibited for flat provider network')
    assert _provider(api.show('network', net['id'])) == ('flat', physnet,
                                                         None)


def test_filters(api):
    physnets = [unique('phys'), unique('phys')]
    flats = [api.network(**{NT: 'flat', PN: p}) for p in physnets]
    local = api.network()
    ids = {n['id'] for n in [*flats, local]}

    def found(**filters) -> set[str]:
        return {n['id'] for n in api.list('networks', filters)} & ids
    assert found(**{NT: 'flat'}) == {n['id'] for n in flats}
    assert found(**{NT: 'local'}) == {local['id']}
    assert found(**{NT: ['flat', 'local']}) == ids
    assert found(**{PN: physnets[1]}) == {flats[1]['id']}
    assert found(**{PN: physnets[0], NT: 'local'}) == set()
    assert found(**{SEG: 5}) == set()
    api.error(api.get('/v2.0/networks', params={SEG: 'x'}), 400)


def test_flat_networks_can_be_limited():
    with KaonServer(sections={'ml2_type_flat': {
            'flat_networks': 'physnet1,physnet2'}}) as srv:
        api = Api(srv.url)
        assert api.network(**{NT: 'flat', PN: 'physnet2'})[PN] == \
            'physnet2'
        resp = api.post('/v2.0/networks', json={'network': {
            NT: 'flat', PN: 'physnet3'}})
        api.error(resp, 400, message="physical_network 'physnet3' unknown "
                  'for flat provider network')
    with KaonServer(sections={'ml2_type_flat': {'flat_networks': ''}}) \
            as srv:
        api = Api(srv.url)
        resp = api.post('/v2.0/networks', json={'network': {
            NT: 'flat', PN: 'physnet1'}})
        api.error(resp, 400, message='Flat provider networks are disabled')


def test_upgrade_gives_existing_networks_a_local_segment():
    """A database from before segments: `kaon db upgrade` (run by the
    server's start) gives its networks the segment they were all along."""
    srv = KaonServer()
    db = Database('sqlite:///' + os.path.join(srv.state, 'kaon.sqlite'))
    now = datetime.datetime(2026, 1, 1)
    try:
        migrate.upgrade(db.engine, '0002_agents')
        with db.engine.begin() as conn:
            conn.execute(insert(networks).values(
                id='11111111-2222-3333-4444-555555555555', project_id='p',
                name='old', status='ACTIVE', admin_state_up=True,
                shared=False, external=False, mtu=1500, description='',
                created_at=now, updated_at=now, revision_number=0))
    finally:
        db.dispose()
    with srv:
        net = Api(srv.url).show('network',
                                '11111111-2222-3333-4444-555555555555')
        assert _provider(net) == ('local', None, None)
