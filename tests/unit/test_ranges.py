import ipaddress

import pytest

from kaon import exceptions as exc
from kaon.ipam import ranges
from kaon.ipam.ranges import Range


def net(cidr):
    return ipaddress.ip_network(cidr)


def ip(text):
    return int(ipaddress.ip_address(text))


def test_keys_sort_like_addresses_across_lengths():
    addresses = ['10.0.0.9', '10.0.0.10', '10.0.1.0', '9.255.255.255']
    assert sorted(addresses, key=ranges.ip_key) == \
        sorted(addresses, key=ipaddress.ip_address)
    assert ranges.key_value(ranges.ip_key('2001:db8::1')) == ip('2001:db8::1')


def test_ipv4_default_pool_skips_network_broadcast_and_gateway():
    n = net('10.0.0.0/24')
    gateway = ranges.default_gateway(n)
    assert gateway == '10.0.0.1'
    assert ranges.default_pools(n, gateway) == [
        Range(ip('10.0.0.2'), ip('10.0.0.254'))]


def test_gateway_in_the_middle_splits_the_pool():
    pools = ranges.default_pools(net('10.0.0.0/24'), '10.0.0.100')
    assert [ranges.format_range(p, 4) for p in pools] == [
        '10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']


def test_ipv6_gateway_is_subnet_router_anycast_and_pool_follows_it():
    n = net('2001:db8::/64')
    assert ranges.default_gateway(n) == '2001:db8::'
    pools = ranges.default_pools(n, '2001:db8::')
    assert ranges.format_range(pools[0], 6) == \
        '2001:db8::1-2001:db8::ffff:ffff:ffff:ffff'


def test_no_gateway_keeps_whole_host_range():
    assert ranges.default_pools(net('10.0.0.0/30'), None) == [
        Range(ip('10.0.0.1'), ip('10.0.0.2'))]


def test_huge_subnets_cost_nothing_to_describe():
    pools = ranges.default_pools(net('10.0.0.0/8'), '10.0.0.1')
    assert ranges.pool_size(pools) == 2 ** 24 - 3


@pytest.mark.parametrize('pools, error', [
    ([{'start': '10.0.0.5', 'end': '10.0.1.5'}],
     exc.OutOfBoundsAllocationPool),
    ([{'start': '10.0.0.0', 'end': '10.0.0.5'}],
     exc.OutOfBoundsAllocationPool),
    ([{'start': '10.0.0.9', 'end': '10.0.0.5'}], exc.InvalidAllocationPool),
    ([{'start': '10.0.0.2', 'end': '10.0.0.9'},
      {'start': '10.0.0.9', 'end': '10.0.0.20'}],
     exc.OverlappingAllocationPools),
])
def test_bad_pools_are_refused(pools, error):
    with pytest.raises(error):
        ranges.parse_pools(net('10.0.0.0/24'), pools)


def test_gateway_inside_a_pool_conflicts():
    pools = ranges.parse_pools(net('10.0.0.0/24'),
                               [{'start': '10.0.0.1', 'end': '10.0.0.9'}])
    with pytest.raises(exc.GatewayConflictWithAllocationPools):
        ranges.check_gateway_outside(pools, '10.0.0.5', 4)
    ranges.check_gateway_outside(pools, '10.0.0.10', 4)


def test_subtract_punches_holes_in_any_order():
    result = ranges.subtract([Range(20, 30), Range(1, 10)], [25, 1, 10, 5])
    assert result == [Range(2, 4), Range(6, 9), Range(20, 24), Range(26, 30)]


def test_eui64_matches_the_slaac_address_a_host_configures():
    # RFC 4291 appendix A: flip the U/L bit, insert ff:fe.
    assert ranges.eui64('2001:db8::/64', 'fa:16:3e:12:34:56') == \
        '2001:db8::f816:3eff:fe12:3456'
