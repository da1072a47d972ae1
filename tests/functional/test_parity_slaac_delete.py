"""Deleting a SLAAC or DHCPv6-stateless subnet removes the addresses it
gave ports instead of refusing (Neutron's _remove_subnet_ip_allocations_
from_ports, checked by tempest's test_create_delete_slaac_subnet_with_
ports); any other subnet a user port holds an address on stays a 409."""
from __future__ import annotations

import pytest

from tests.support.rest import Api


def _v6(api: Api, net_id: str, cidr: str, mode: str) -> dict:
    return api.subnet(net_id, cidr, ipv6_address_mode=mode,
                      ipv6_ra_mode=mode)


@pytest.mark.parametrize('mode', ['slaac', 'dhcpv6-stateless'])
def test_auto_address_subnet_delete_strips_ports(api, mode):
    net = api.network()
    v4 = api.subnet(net['id'], '10.91.0.0/24')
    auto = _v6(api, net['id'], 'fd00:91::/64', mode)
    both = api.port(net['id'])
    only6 = api.port(net['id'], fixed_ips=[{'subnet_id': auto['id']}])
    assert {ip['subnet_id'] for ip in both['fixed_ips']} == {
        v4['id'], auto['id']}
    api.remove('subnet', auto['id'])
    shown = api.show('port', both['id'])
    assert shown['fixed_ips'] == [ip for ip in both['fixed_ips']
                                  if ip['subnet_id'] == v4['id']]
    assert shown['revision_number'] > both['revision_number']
    assert api.show('port', only6['id'])['fixed_ips'] == []
    assert api.list('ports', {'fixed_ips': f"subnet_id={auto['id']}"}) == []
    assert api.show('network', net['id'])['subnets'] == [v4['id']]
    # The same /64 can come back, and addresses the ports again.
    again = _v6(api, net['id'], 'fd00:91::/64', mode)
    assert again['id'] in {ip['subnet_id'] for ip in api.show(
        'port', both['id'])['fixed_ips']}


@pytest.mark.parametrize('cidr,attrs', [
    ('fd00:92::/64', {'ipv6_address_mode': 'dhcpv6-stateful',
                      'ipv6_ra_mode': 'dhcpv6-stateful'}),
    ('fd00:93::/64', {}),
    ('10.94.0.0/24', {})], ids=['stateful', 'v6-no-mode', 'v4'])
def test_other_subnets_in_use_stay_409(api, cidr, attrs):
    net = api.network()
    sub = api.subnet(net['id'], cidr, **attrs)
    port = api.port(net['id'])
    resp = api.delete(f"/v2.0/subnets/{sub['id']}")
    api.error(resp, 409, 'SubnetInUse')
    assert api.show('port', port['id'])['fixed_ips'] == port['fixed_ips']
    api.show('subnet', sub['id'])
