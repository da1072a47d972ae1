"""Quotas hold when many clients race a project to its limit.

16 clients, one project, more attempts than its quota allows: exactly the
limit is created, every other attempt is a clean 409 OverQuota, and the
project never holds more than its limit -- on SQLite with one server
process and on PostgreSQL with 4 API worker processes (conftest.py's
`conc_server`).  Resources are only ever added here, so the count after the
race is the highest it ever was.

The DHCP-port rule (kaon.plugin.quotas): the port a DHCP agent creates for
itself over RPC counts in its project's usage but is never refused; a port
created through the API with device_owner network:dhcp is checked like any.
"""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.functional.test_concurrency import (
    CLIENTS,
    Result,
    concurrently,
    server_log,
    tally,
)
from tests.support.dhcp_rpc import Cloud, InProcessDhcpRpc
from tests.support.server import KaonServer

TIMEOUT = 60
OVER = (409, 'OverQuota')
CREATED = (201, None)

pytestmark = pytest.mark.slow


class Project:
    """A fresh non-admin project on `srv`, its quotas set by the admin."""

    def __init__(self, srv: KaonServer, **limits: int) -> None:
        self.srv = srv
        self.id = 'quota-' + uuid.uuid4().hex[:8]
        self.headers = {'X-Project-Id': self.id, 'X-Roles': 'member'}
        resp = requests.put(f'{srv.url}/v2.0/quotas/{self.id}',
                            json={'quota': limits}, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text

    def post(self, path: str, body: dict,
             session: requests.Session | None = None) -> Result:
        return Result((session or requests).post(
            self.srv.url + path, json=body, headers=self.headers,
            timeout=TIMEOUT))

    def ok(self, path: str, body: dict) -> dict:
        result = self.post(path, body)
        assert result.status == 201, result
        return result.body

    def network(self, cidr: str) -> tuple[str, str]:
        net = self.ok('/v2.0/networks', {'network': {'name': cidr}})
        net_id = net['network']['id']
        sub = self.ok('/v2.0/subnets', {'subnet': {
            'network_id': net_id, 'cidr': cidr, 'ip_version': 4}})
        return net_id, sub['subnet']['id']

    def count(self, collection: str) -> int:
        """What the database holds for the project (read as the admin)."""
        resp = requests.get(f'{self.srv.url}/v2.0/{collection}',
                            params={'project_id': self.id, 'fields': 'id'},
                            timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return len(resp.json()[collection])


def assert_race(srv: KaonServer, results: list[Result],
                expected: dict) -> None:
    counts = tally(results)
    assert counts == expected, (
        f'{dict(counts)}; unexpected: '
        f'{[r for r in results if r.status not in (201, 409)][:5]}'
        + server_log(srv))


@pytest.mark.timeout(300)
def test_16_clients_race_one_project_to_its_port_quota(
        conc_server: KaonServer) -> None:
    limit, attempts = 50, 80
    project = Project(conc_server, port=limit)
    net_id, _ = project.network('10.78.1.0/24')

    def create(session: requests.Session, i: int) -> Result:
        return project.post('/v2.0/ports', {'port': {
            'network_id': net_id, 'name': f'q{i}'}}, session)
    results = concurrently(create, range(attempts), CLIENTS)
    assert_race(conc_server, results,
                {CREATED: limit, OVER: attempts - limit})
    assert project.count('ports') == limit


@pytest.mark.timeout(300)
def test_16_clients_race_bulk_creates_to_the_port_quota(
        conc_server: KaonServer) -> None:
    limit, bulk, attempts = 50, 5, 30
    project = Project(conc_server, port=limit)
    net_id, _ = project.network('10.78.2.0/24')

    def create(session: requests.Session, i: int) -> Result:
        return project.post('/v2.0/ports', {'ports': [
            {'network_id': net_id, 'name': f'b{i}-{n}'}
            for n in range(bulk)]}, session)
    results = concurrently(create, range(attempts), CLIENTS)
    assert_race(conc_server, results,
                {CREATED: limit // bulk, OVER: attempts - limit // bulk})
    assert project.count('ports') == limit


@pytest.mark.timeout(300)
def test_16_clients_race_network_and_subnet_quotas(
        conc_server: KaonServer) -> None:
    project = Project(conc_server, network=24, subnet=10)
    results = concurrently(
        lambda s, i: project.post('/v2.0/networks',
                                  {'network': {'name': f'n{i}'}}, s),
        range(40), CLIENTS)
    assert_race(conc_server, results, {CREATED: 24, OVER: 16})
    assert project.count('networks') == 24
    # One subnet on each network: no network lock serialises these.
    net_ids = [r.body['network']['id'] for r in results if r.status == 201]
    results = concurrently(
        lambda s, i: project.post('/v2.0/subnets', {'subnet': {
            'network_id': net_ids[i], 'ip_version': 4,
            'cidr': f'10.79.{i}.0/24'}}, s),
        range(len(net_ids)), CLIENTS)
    assert_race(conc_server, results, {CREATED: 10, OVER: 14})
    assert project.count('subnets') == 10


@pytest.mark.timeout(120)
def test_dhcp_agent_ports_count_but_are_never_refused() -> None:
    """A project at its port limit still gets DHCP on a new subnet; only
    the agent's RPC call is exempt, not a body that claims network:dhcp."""
    with KaonServer() as srv:
        project = Project(srv, port=3)
        net_id, subnet_id = project.network('10.78.3.0/24')
        for i in range(3):
            project.ok('/v2.0/ports', {'port': {'network_id': net_id,
                                                'name': f'vm{i}'}})
        posing = project.post('/v2.0/ports', {'port': {
            'network_id': net_id, 'device_owner': 'network:dhcp'}})
        assert (posing.status, posing.error_type) == OVER, posing

        # The DHCP agent's call, answered by the server's RPC endpoint on
        # the server's own database.
        agent = InProcessDhcpRpc(Cloud(srv.state), host='kt-quota-host')
        dhcp_port = agent.create_dhcp_port({'port': {
            'network_id': net_id, 'project_id': project.id,
            'device_id': f'dhcp-kt-{net_id}', 'name': '',
            'admin_state_up': True,
            'fixed_ips': [{'subnet_id': subnet_id}]}})
        assert dhcp_port['device_owner'] == 'network:dhcp'
        assert dhcp_port['project_id'] == project.id
        assert project.count('ports') == 4   # counted in usage

        refused = project.post('/v2.0/ports', {'port': {'network_id': net_id}})
        assert (refused.status, refused.error_type) == OVER, refused
        assert project.count('ports') == 4
