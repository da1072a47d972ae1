"""Allowed address pairs on ports (the allowed-address-pairs extension),
through the API: what is stored, what is refused, and who may set them."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.support.rest import Api, unique

Headers = Callable[[str], dict[str, str]]


@pytest.fixture(scope='module')
def net(api: Api) -> dict[str, Any]:
    net = api.network()
    api.subnet(net['id'], '10.96.0.0/24')
    api.subnet(net['id'], '2001:db8:96::/64')
    return net


def pairs_of(port: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((p['ip_address'], p['mac_address'])
                  for p in port['allowed_address_pairs'])


def test_pairs_are_stored_shown_and_replaced(api: Api,
                                             net: dict[str, Any]) -> None:
    assert 'allowed-address-pairs' in {
        e['alias'] for e in api.ok(api.get('/v2.0/extensions'))['extensions']}
    plain = api.port(net['id'])
    assert plain['allowed_address_pairs'] == []
    port = api.port(net['id'], allowed_address_pairs=[
        {'ip_address': '10.96.0.200'},
        {'ip_address': '10.96.1.0/24', 'mac_address': 'FA-16-3E-00-00-01'},
        {'ip_address': '2001:DB8:96:0::7'}])
    mac = port['mac_address']
    expected = [('10.96.0.200', mac), ('10.96.1.0/24', 'fa:16:3e:00:00:01'),
                ('2001:db8:96::7', mac)]
    assert pairs_of(port) == expected
    assert pairs_of(api.show('port', port['id'])) == expected
    listed = api.list('ports', {'id': port['id']})
    assert pairs_of(listed[0]) == expected

    # An update replaces the list; [] and null clear it.
    updated = api.update('port', port['id'], allowed_address_pairs=[
        {'ip_address': '10.96.0.201', 'mac_address': mac}])
    assert pairs_of(updated) == [('10.96.0.201', mac)]
    assert updated['revision_number'] > port['revision_number']
    assert pairs_of(api.update('port', port['id'], name='x')) == \
        [('10.96.0.201', mac)]
    assert api.update('port', port['id'],
                      allowed_address_pairs=[])['allowed_address_pairs'] == []
    api.update('port', port['id'], allowed_address_pairs=[
        {'ip_address': '10.96.0.202'}])
    assert api.update('port', port['id'], allowed_address_pairs=None)[
        'allowed_address_pairs'] == []


@pytest.mark.parametrize('pairs,error', [
    ('10.0.0.1', 'HTTPBadRequest'),
    ({'ip_address': '10.0.0.1'}, 'HTTPBadRequest'),
    (['10.0.0.1'], 'HTTPBadRequest'),
    ([{}], 'AllowedAddressPairsMissingIP'),
    ([{'mac_address': 'fa:16:3e:00:00:01'}], 'AllowedAddressPairsMissingIP'),
    ([{'ip_address': '10.0.0.1', 'other': 1}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1'}, {'ip_address': '10.0.0.1'}],
     'DuplicateAddressPairInRequest'),
    ([{'ip_address': '10.0.0.1', 'mac_address': 'FA:16:3E:00:00:01'},
      {'ip_address': '10.0.0.1', 'mac_address': 'fa-16-3e-00-00-01'}],
     'DuplicateAddressPairInRequest'),
    ([{'ip_address': f'10.0.1.{i}'} for i in range(11)],
     'AllowedAddressPairExhausted'),
    ([{'ip_address': '224.0.0.1'}], 'HTTPBadRequest'),
    ([{'ip_address': 'ff02::1'}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1', 'mac_address': '01:00:5e:00:00:01'}],
     'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1', 'mac_address': 'fa:16:3e:00:00'}],
     'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.256'}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.0/33'}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1/24'}], 'HTTPBadRequest'),
    ([{'ip_address': None}], 'HTTPBadRequest'),
    ([{'ip_address': 167772161}], 'HTTPBadRequest'),
    # Hostile strings: these end up in the firewall's rules.
    ([{'ip_address': '10.0.0.1\n-A INPUT -j ACCEPT'}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1 '}], 'HTTPBadRequest'),
    ([{'ip_address': 'fe80::1%eth0'}], 'HTTPBadRequest'),
    ([{'ip_address': '１０.0.0.1'}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1;ls'}], 'HTTPBadRequest'),
    ([{'ip_address': '1' * 100000}], 'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1', 'mac_address': 'fa:16:3e:00:00:01\n'}],
     'HTTPBadRequest'),
    ([{'ip_address': '10.0.0.1', 'mac_address': {'a': 1}}],
     'HTTPBadRequest'),
])
def test_bad_pairs_are_refused_and_nothing_is_written(
        api: Api, net: dict[str, Any], pairs: Any, error: str) -> None:
    name = unique('aap')
    api.error(api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'name': name,
        'allowed_address_pairs': pairs}}), 400, error)
    assert api.list('ports', {'name': name}) == []
    port = api.port(net['id'], allowed_address_pairs=[
        {'ip_address': '10.96.0.250'}])
    api.error(api.put(f"/v2.0/ports/{port['id']}", json={'port': {
        'allowed_address_pairs': pairs}}), 400, error)
    assert pairs_of(api.show('port', port['id'])) == [
        ('10.96.0.250', port['mac_address'])]
    api.remove('port', port['id'])


def test_pairs_are_the_network_owners_to_grant(api: Api,
                                                member: Headers) -> None:
    """Neutron's policy: on another project's (shared) network a project
    may have a port, but not allowed address pairs on it."""
    shared = api.network(shared=True)
    api.subnet(shared['id'], '10.97.0.0/24')
    guest = member(unique('proj'))
    pair = [{'ip_address': '10.97.0.99'}]
    api.error(api.post('/v2.0/ports', headers=guest, json={'port': {
        'network_id': shared['id'], 'allowed_address_pairs': pair}}), 403,
        'PolicyNotAuthorized')
    port = api.port(shared['id'], headers=guest)
    api.error(api.put(f"/v2.0/ports/{port['id']}", headers=guest, json={
        'port': {'allowed_address_pairs': pair}}), 403)
    # On its own network a member may.
    own = api.network(headers=guest)
    api.subnet(own['id'], '10.98.0.0/24', headers=guest)
    mine = api.port(own['id'], headers=guest, allowed_address_pairs=pair)
    assert pairs_of(mine) == [('10.97.0.99', mine['mac_address'])]
