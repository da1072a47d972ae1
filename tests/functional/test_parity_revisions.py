"""Revisions that follow from changes elsewhere (Neutron's
revises_on_change, measured by neutron-tempest-plugin's test_revisions):
a subnet created, updated or deleted revises its network; an address a
port gains or loses with a subnet revises the port."""
from __future__ import annotations

import time


def _rev(api, resource: str, item_id: str) -> tuple[int, str]:
    item = api.show(resource, item_id)
    return item['revision_number'], item['updated_at']


def test_subnet_create_update_delete_bump_the_network(api):
    net = api.network()
    revs = [_rev(api, 'network', net['id'])]
    time.sleep(1.1)              # updated_at has whole seconds
    sub = api.subnet(net['id'], '10.86.0.0/24')
    revs.append(_rev(api, 'network', net['id']))
    api.update('subnet', sub['id'], name='renamed')
    revs.append(_rev(api, 'network', net['id']))
    api.remove('subnet', sub['id'])
    revs.append(_rev(api, 'network', net['id']))
    numbers = [r for r, _ in revs]
    assert numbers == sorted(set(numbers)), numbers
    assert revs[1][1] > revs[0][1]       # updated_at moved too


def test_failed_subnet_create_bumps_nothing(api):
    net = api.network()
    api.subnet(net['id'], '10.87.0.0/24')
    before = api.show('network', net['id'])
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.87.0.0/25', 'ip_version': 4}})
    api.error(resp, 400)
    assert api.show('network', net['id']) == before


def test_slaac_subnet_create_revises_the_ports_it_addresses(api):
    net = api.network()
    port = api.port(net['id'])
    api.subnet(net['id'], 'fd00:88::/64', ipv6_address_mode='slaac',
               ipv6_ra_mode='slaac')
    shown = api.show('port', port['id'])
    assert len(shown['fixed_ips']) == 1
    assert shown['revision_number'] > port['revision_number']


def test_network_revision_constrains_after_a_subnet(api):
    # The number the If-Match must name is the bumped one.
    net = api.network()
    api.subnet(net['id'], '10.89.0.0/24')
    rev = api.show('network', net['id'])['revision_number']
    path = f"/v2.0/networks/{net['id']}"
    api.error(api.put(path, json={'network': {'name': 'x'}}, headers={
        'If-Match': f"revision_number={net['revision_number']}"}), 412)
    api.ok(api.put(path, json={'network': {'name': 'x'}}, headers={
        'If-Match': f'revision_number={rev}'}))


def test_subnet_delete_revises_the_dhcp_port_that_loses_its_address(api):
    net = api.network()
    sub = api.subnet(net['id'], '10.90.0.0/24')
    dhcp = api.port(net['id'], device_owner='network:dhcp')
    api.remove('subnet', sub['id'])
    shown = api.show('port', dhcp['id'])
    assert shown['fixed_ips'] == []
    assert shown['revision_number'] > dhcp['revision_number']
