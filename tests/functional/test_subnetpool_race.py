"""Allocations from one subnet pool race: 16 clients, 20 requests for a
/28 of a /24 pool (16 of them), each on its own network and with no subnet
quota (so only the pool serialises them).  Exactly 16 subnets are made,
with distinct CIDRs inside the pool, and 4 clean 409
SubnetAllocationError -- on SQLite with one server process and on
PostgreSQL with 4 API workers (conftest.py's `conc_server`).  Without the
pool's row lock, PostgreSQL made all 20."""
from __future__ import annotations

import collections
import ipaddress

import pytest
import requests

from tests.functional.test_concurrency import (
    TIMEOUT,
    concurrently,
    post,
    server_log,
    tally,
)
from tests.support.server import KaonServer

pytestmark = pytest.mark.slow
REQUESTS = 20


def _ok(resp: requests.Response, status: int = 201) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.mark.timeout(600)
def test_pool_allocations_race(conc_server: KaonServer) -> None:
    url = conc_server.url
    # No subnet quota: its per-project lock would serialise the creates
    # by itself, and the pool's own lock is what is tested here.
    _ok(requests.put(url + '/v2.0/quotas/admin', timeout=TIMEOUT,
                     json={'quota': {'subnet': -1}}), 200)
    pool = _ok(requests.post(url + '/v2.0/subnetpools', timeout=TIMEOUT,
                             json={'subnetpool': {
                                 'name': 'race', 'prefixes': ['10.78.0.0/24'],
                                 'default_prefixlen': 28}}))['subnetpool']
    nets = [_ok(requests.post(url + '/v2.0/networks', timeout=TIMEOUT,
                              json={'network': {'name': f'race-{i}'}})
                )['network']['id'] for i in range(REQUESTS)]
    results = concurrently(
        lambda session, net_id: post(session, url + '/v2.0/subnets', {
            'subnet': {'network_id': net_id, 'ip_version': 4,
                       'subnetpool_id': pool['id']}}), nets)
    assert tally(results) == {(201, None): 16,
                              (409, 'SubnetAllocationError'): 4}, \
        server_log(conc_server)
    listed = _ok(requests.get(url + '/v2.0/subnets', timeout=TIMEOUT,
                              params={'subnetpool_id': pool['id']}), 200)
    cidrs = [ipaddress.ip_network(s['cidr']) for s in listed['subnets']]
    assert len(cidrs) == 16
    assert not [c for c, n in collections.Counter(cidrs).items() if n > 1]
    assert all(c.subnet_of(ipaddress.ip_network('10.78.0.0/24'))
               for c in cidrs)
