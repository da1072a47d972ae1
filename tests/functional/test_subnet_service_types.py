"""subnet-service-types: a subnet's `service_types` (device_owner values)
decide which ports take addresses from it, as Neutron's IPAM does."""
from __future__ import annotations

import ipaddress

import pytest


def _in(port: dict, cidr: str) -> bool:
    return [ipaddress.ip_address(ip['ip_address']) in
            ipaddress.ip_network(cidr) for ip in port['fixed_ips']] == [True]


def test_ports_take_addresses_from_their_service_subnet(api, member,
                                                        project):
    headers = member(project)
    net = api.network(headers=headers)
    plain = api.subnet(net['id'], '10.79.0.0/24', headers=headers)
    one = api.subnet(net['id'], '10.79.1.0/24', headers=headers,
                     service_types=['test:type_1', 'network:distributed'])
    two = api.subnet(net['id'], '10.79.2.0/24', headers=headers,
                     service_types=['compute:nova'])
    assert plain['service_types'] == []
    assert one['service_types'] == ['network:distributed', 'test:type_1']
    assert api.show('subnet', two['id'])['service_types'] == ['compute:nova']
    # A typed subnet that serves the port comes before untyped ones.
    assert _in(api.port(net['id'], headers=headers,
                        device_owner='test:type_1'), one['cidr'])
    assert _in(api.port(net['id'], headers=headers,
                        device_owner='compute:nova'), two['cidr'])
    # Other owners use the untyped subnet only.
    assert _in(api.port(net['id'], headers=headers), plain['cidr'])
    assert _in(api.port(net['id'], headers=headers,
                        device_owner='compute:other'), plain['cidr'])
    # Asking for a subnet that does not serve the owner is refused.
    resp = api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': net['id'], 'device_owner': 'compute:nova',
        'fixed_ips': [{'subnet_id': one['id']}]}})
    api.error(resp, 400, 'InvalidInput', 'invalid subnet')


def test_no_serving_subnet_is_409(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.80.0.0/24', headers=headers,
               service_types=['compute:nova'])
    resp = api.post('/v2.0/ports', headers=headers,
                    json={'port': {'network_id': net['id']}})
    api.error(resp, 409, 'IpAddressGenerationFailureNoMatchingSubnet',
              'service type')
    assert api.list('ports', {'network_id': net['id']},
                    headers=headers) == []
    # A DHCP port may use any DHCP-enabled subnet, whatever its types.
    dhcp = api.port(net['id'], device_owner='network:dhcp',
                    project_id=project)
    assert _in(dhcp, '10.80.0.0/24')


def test_update_bumps_revision_and_replaces(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    sub = api.subnet(net['id'], '10.81.0.0/24', headers=headers)
    first = api.update('subnet', sub['id'], headers=headers,
                       service_types=['compute:'])
    assert first['service_types'] == ['compute:']
    assert first['revision_number'] > sub['revision_number']
    second = api.update('subnet', sub['id'], headers=headers,
                        service_types=[])
    assert second['service_types'] == []
    assert second['revision_number'] > first['revision_number']


@pytest.mark.parametrize('types, type_, message', [
    (['xyz:thing'], 'InvalidSubnetServiceType', 'not correspond to a valid'),
    (['network'], 'InvalidSubnetServiceType', 'not correspond to a valid'),
    ([7], 'InvalidInputSubnetServiceType', 'is not a string'),
    ('compute:nova', 'HTTPBadRequest', 'must be a list'),
])
def test_bad_service_types_are_400(api, types, type_, message):
    net = api.network()
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.82.0.0/24', 'ip_version': 4,
        'service_types': types}})
    api.error(resp, 400, type_, message)
    assert api.show('network', net['id'])['subnets'] == []


def test_extension_is_listed(api):
    aliases = {e['alias'] for e in
               api.ok(api.get('/v2.0/extensions'))['extensions']}
    assert 'subnet-service-types' in aliases
