"""Bulk bodies whose items are wrapped as single bodies are
(`{"ports": [{"port": {...}}]}`), accepted as Neutron's
prepare_request_body accepts them, for every creatable resource."""
from __future__ import annotations

import pytest

from tests.support.rest import unique


def test_wrapped_and_bare_items_mix_in_one_bulk_of_ports(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.81.0.0/24')
    names = [unique('p'), unique('p'), unique('p')]
    resp = api.post('/v2.0/ports', json={'ports': [
        {'port': {'network_id': net['id'], 'name': names[0],
                  'fixed_ips': [{'ip_address': '10.81.0.50'}]}},
        {'network_id': net['id'], 'name': names[1]},
        {'port': {'network_id': net['id'], 'name': names[2]}}]})
    created = api.ok(resp, 201)['ports']
    assert [p['name'] for p in created] == names
    assert created[0]['fixed_ips'] == [{'subnet_id': sub['id'],
                                        'ip_address': '10.81.0.50'}]
    listed = api.list('ports', {'network_id': net['id']})
    assert sorted(p['name'] for p in listed) == sorted(names)


def test_wrapped_networks_and_subnets(api):
    names = [unique('n'), unique('n')]
    nets = api.ok(api.post('/v2.0/networks', json={'networks': [
        {'network': {'name': names[0], 'mtu': 1400}},
        {'network': {'name': names[1]}}]}), 201)['networks']
    assert [(n['name'], n['mtu']) for n in nets] == [(names[0], 1400),
                                                     (names[1], 1500)]
    subs = api.ok(api.post('/v2.0/subnets', json={'subnets': [
        {'subnet': {'network_id': nets[0]['id'], 'cidr': '10.82.0.0/24',
                    'ip_version': 4}},
        {'subnet': {'network_id': nets[1]['id'], 'cidr': '10.83.0.0/24',
                    'ip_version': 4}}]}), 201)['subnets']
    assert [s['cidr'] for s in subs] == ['10.82.0.0/24', '10.83.0.0/24']


@pytest.mark.parametrize('item', [
    {'network': 'x'},
    {'network': None},
    {'network': {'name': 'ok'}, 'name': 'beside'},
    {'network': {'network': {'name': 'twice'}}},
    {'network': {'nonsense': 1}},
], ids=['string', 'null', 'sibling-keys', 'wrapped-twice', 'bad-attr'])
def test_badly_wrapped_items_fail_the_whole_bulk(api, item):
    name = unique('n')
    resp = api.post('/v2.0/networks', json={'networks': [
        {'name': name}, item]})
    api.error(resp, 400)
    assert api.list('networks', {'name': name}) == []


def test_a_wrapped_body_on_update_is_not_unwrapped_twice(api):
    net = api.network()
    resp = api.put(f"/v2.0/networks/{net['id']}", json={
        'network': {'network': {'name': 'x'}}})
    api.error(resp, 400, message='network')
