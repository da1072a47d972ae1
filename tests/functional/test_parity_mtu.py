"""A network's MTU as Neutron takes it: any non-negative value up to the
physical network's (0 meaning that maximum), refused with 409
NetworkMTUSubnetConflict only when a subnet could not live on it -- IPv4
below 68, IPv6 below 1280 -- whichever of the two comes first."""
from __future__ import annotations

import pytest

CONFLICT = 'NetworkMTUSubnetConflict'


@pytest.mark.parametrize('mtu', [1, 67, 68, 1279])
def test_small_mtus_are_accepted_on_an_empty_network(api, mtu):
    net = api.network(mtu=mtu)
    assert net['mtu'] == mtu
    assert api.show('network', net['id'])['mtu'] == mtu


def test_mtu_zero_means_the_largest(api):
    assert api.network(mtu=0)['mtu'] == 1500
    net = api.network(mtu=1400)
    assert api.update('network', net['id'], mtu=0)['mtu'] == 1500


@pytest.mark.parametrize('mtu', [-1, '-5', 1501, 'abc', None])
def test_bad_mtus_are_400(api, mtu):
    api.error(api.post('/v2.0/networks', json={'network': {'mtu': mtu}}),
              400)


def test_ipv4_subnet_on_mtu_67_is_409_and_not_created(api):
    net = api.network(mtu=67)
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.77.0.0/24', 'ip_version': 4}})
    err = api.error(resp, 409, CONFLICT)
    assert 'minimum of 68' in err['message'], err
    assert api.show('network', net['id'])['subnets'] == []
    # Raised to 68 the same network takes it.
    api.update('network', net['id'], mtu=68)
    api.subnet(net['id'], '10.77.0.0/24')


def test_ipv6_subnet_on_mtu_1279_is_409(api):
    net = api.network(mtu=1279)
    api.subnet(net['id'], '10.78.0.0/24')     # IPv4 is fine at 1279
    resp = api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': 'fd00:78::/64', 'ip_version': 6}})
    err = api.error(resp, 409, CONFLICT)
    assert 'minimum of 1280' in err['message'], err


def test_lowering_mtu_under_a_subnet_is_409_and_changes_nothing(api):
    net = api.network(mtu=1280)
    api.subnet(net['id'], '10.79.0.0/24')
    api.update('network', net['id'], mtu=68)       # IPv4 alone: fine
    err = api.error(api.put(f"/v2.0/networks/{net['id']}", json={
        'network': {'mtu': 67}}), 409, CONFLICT)
    assert 'minimum of 68' in err['message'], err
    api.update('network', net['id'], mtu=1280)
    api.subnet(net['id'], 'fd00:79::/64')
    for mtu, minimum in ((1279, 1280), (67, 68)):
        err = api.error(api.put(f"/v2.0/networks/{net['id']}", json={
            'network': {'mtu': mtu}}), 409, CONFLICT)
        assert f'minimum of {minimum}' in err['message'], err
    assert api.show('network', net['id'])['mtu'] == 1280
