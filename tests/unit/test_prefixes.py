"""kaon.ipam.prefixes: the pool arithmetic behind subnet allocation."""
from __future__ import annotations

import ipaddress

from kaon.ipam import prefixes


def nets(*cidrs: str) -> list:
    return [ipaddress.ip_network(c) for c in cidrs]


def test_compact_merges_per_version():
    assert prefixes.compact(['10.0.1.0/24', '2001:db8::/64', '10.0.0.0/24',
                             '10.0.0.0/25', '2001:db8:0:1::/64']) == nets(
        '10.0.0.0/23', '2001:db8::/63')


def test_first_free_takes_the_smallest_block_that_fits():
    pool = nets('10.0.0.0/16', '10.9.0.0/28')
    assert prefixes.first_free(pool, [], 28) == nets('10.9.0.0/28')[0]
    assert prefixes.first_free(pool, ['10.9.0.0/28'], 28) == \
        nets('10.0.0.0/28')[0]
    assert prefixes.first_free(pool, ['10.0.0.0/24'], 24) == \
        nets('10.0.1.0/24')[0]
    assert prefixes.first_free(pool, ['10.0.0.0/16', '10.9.0.0/28'],
                               30) is None
    assert prefixes.first_free(pool, [], 15) is None


def test_is_free_and_covers():
    pool = nets('10.0.0.0/24')
    assert prefixes.is_free(pool, ['10.0.0.0/26'], nets('10.0.0.64/26')[0])
    assert not prefixes.is_free(pool, ['10.0.0.0/26'],
                                nets('10.0.0.0/25')[0])
    assert not prefixes.is_free(pool, [], nets('10.0.1.0/26')[0])
    assert not prefixes.is_free(pool, [], nets('2001:db8::/64')[0])
    assert prefixes.covers(nets('10.0.0.0/23'), nets('10.0.1.0/24'))
    assert not prefixes.covers(nets('10.0.0.0/24'), nets('10.0.0.0/23'))


def test_ipv6_pool():
    pool = nets('2001:db8::/48')
    assert prefixes.first_free(pool, ['2001:db8::/64'], 64) == \
        nets('2001:db8:0:1::/64')[0]
