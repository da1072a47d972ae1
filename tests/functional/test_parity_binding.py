"""A port's binding as Neutron shows it: `unbound` with empty details
until it names a host, then linuxbridge's `bridge` (kaon plugs taps into
Linux bridges); binding:vif_type, binding:vif_details and binding:profile
are the admin's (and the service role's) to see, as in Neutron's policy."""
from __future__ import annotations

import pytest

BRIDGE_DETAILS = {'port_filter': True, 'connectivity': 'l2',
                  'bound_drivers': {'0': 'linuxbridge'}}
ADMIN_ONLY = ('binding:vif_type', 'binding:vif_details', 'binding:profile',
              'binding:host_id')


def test_unbound_then_bound_then_unbound(api):
    net = api.network()
    port = api.port(net['id'])
    assert port['binding:vif_type'] == 'unbound'
    assert port['binding:vif_details'] == {}
    assert port['binding:profile'] == {}
    assert port['binding:vnic_type'] == 'normal'
    assert api.show('port', port['id']) == port     # tempest's show check
    bound = api.update('port', port['id'], **{'binding:host_id': 'cmp-1'})
    assert bound['binding:vif_type'] == 'bridge'
    assert bound['binding:vif_details'] == BRIDGE_DETAILS
    listed = api.list('ports', {'id': port['id']})
    assert listed[0]['binding:vif_type'] == 'bridge'
    assert listed[0]['binding:host_id'] == 'cmp-1'
    again = api.update('port', port['id'], **{'binding:host_id': ''})
    assert (again['binding:vif_type'], again['binding:vif_details']) == (
        'unbound', {})


def test_created_bound_and_in_bulk(api):
    net = api.network()
    created = api.ok(api.post('/v2.0/ports', json={'ports': [
        {'network_id': net['id'], 'binding:host_id': 'cmp-2'},
        {'network_id': net['id']}]}), 201)['ports']
    assert [p['binding:vif_type'] for p in created] == ['bridge', 'unbound']
    assert created[0]['binding:vif_details'] == BRIDGE_DETAILS


def test_fields_select_binding_attributes(api):
    net = api.network()
    port = api.port(net['id'], **{'binding:host_id': 'cmp-3'})
    shown = api.ok(api.get(f"/v2.0/ports/{port['id']}", params={
        'fields': ['binding:vif_type', 'binding:vif_details']}))['port']
    assert shown == {'binding:vif_type': 'bridge',
                     'binding:vif_details': BRIDGE_DETAILS}


def test_members_do_not_see_them(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    port = api.port(net['id'], headers=headers)
    for name in ADMIN_ONLY:
        assert name not in port
    assert port['binding:vnic_type'] == 'normal'
    shown = api.show('port', port['id'], headers=headers)
    assert not set(ADMIN_ONLY) & set(shown)
    listed = api.list('ports', {'network_id': net['id']}, headers=headers)
    assert not set(ADMIN_ONLY) & set(listed[0])
    assert api.show('port', port['id'])['binding:vif_type'] == 'unbound'


@pytest.mark.parametrize('attrs', [
    {'binding:vif_type': 'ovs'}, {'binding:vif_details': {}},
    {'binding:profile': {'a': 1}}])
def test_they_are_read_only(api, attrs):
    net = api.network()
    api.error(api.post('/v2.0/ports', json={'port': dict(
        attrs, network_id=net['id'])}), 400)
    assert api.list('ports', {'network_id': net['id']}) == []
    port = api.port(net['id'])
    api.error(api.put(f"/v2.0/ports/{port['id']}", json={'port': attrs}),
              400)


@pytest.mark.parametrize('name', ['binding:vif_type', 'binding:profile'])
def test_they_are_not_filters(api, name):
    api.error(api.get('/v2.0/ports', params={name: 'bridge'}), 400)
