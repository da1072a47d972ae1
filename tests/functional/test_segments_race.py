"""VNIs under concurrency: 17 clients create project networks at once on a
range of 16 VNIs -- 16 networks with 16 distinct VNIs, one clean 503
NoNetworkAvailable; and 8 admins asking for the same VNI outside the range
-- one network, seven 409 TunnelIdInUse.  On SQLite with one server
process and on PostgreSQL with 4 API workers."""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import requests

from tests.functional.conftest import BACKENDS
from tests.functional.test_concurrency import (
    Result,
    concurrently,
    server_log,
    tally,
)
from tests.support.server import KaonServer

TIMEOUT = 120
RANGE = 16
pytestmark = pytest.mark.slow


@pytest.fixture(params=BACKENDS)
def vxlan_server(request: pytest.FixtureRequest) -> Iterator[KaonServer]:
    sections = {'ml2': {'tenant_network_types': 'vxlan'},
                'ml2_type_vxlan': {'vni_ranges': f'1:{RANGE}'}}
    if request.param == 'postgres':
        pg = request.getfixturevalue('pg_cluster')
        db_url = pg.create_database('kaon_' + uuid.uuid4().hex[:12])
        srv = KaonServer(db_url=db_url, workers=4, sections=sections)
    else:
        srv = KaonServer(sections=sections)
    with srv:
        yield srv


def _create(srv: KaonServer, session: requests.Session,
            attrs: dict) -> Result:
    return Result(session.post(srv.url + '/v2.0/networks', timeout=TIMEOUT,
                               json={'network': attrs}))


def _vnis(srv: KaonServer) -> list[int]:
    resp = requests.get(srv.url + '/v2.0/networks', timeout=TIMEOUT,
                        params={'provider:network_type': 'vxlan'})
    assert resp.status_code == 200, resp.text
    return [n['provider:segmentation_id'] for n in resp.json()['networks']]


def test_concurrent_creates_get_distinct_vnis_and_one_503(vxlan_server):
    results = concurrently(
        lambda s, i: _create(vxlan_server, s, {'name': f'race-{i}'}),
        range(RANGE + 1), clients=RANGE + 1)
    assert tally(results) == {(201, None): RANGE,
                              (503, 'NoNetworkAvailable'): 1}, (
        tally(results), server_log(vxlan_server))
    created = [r.body['network']['id'] for r in results if r.status == 201]
    assert len(set(created)) == RANGE
    assert sorted(_vnis(vxlan_server)) == list(range(1, RANGE + 1))


def test_one_of_many_admins_gets_a_vni_outside_the_range(vxlan_server):
    attrs = {'provider:network_type': 'vxlan',
             'provider:segmentation_id': 5000}
    results = concurrently(lambda s, _: _create(vxlan_server, s, attrs),
                           range(8), clients=8)
    assert tally(results) == {(201, None): 1, (409, 'TunnelIdInUse'): 7}, (
        tally(results), server_log(vxlan_server))
    assert _vnis(vxlan_server) == [5000]
