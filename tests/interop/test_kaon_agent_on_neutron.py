"""kaon's DHCP agent serving a network of a real Neutron 29 server.

`neutron-rpc-server` and Neutron's API application (ML2, `local`
networks, no authentication, a private MariaDB migrated by
`neutron-db-manage upgrade heads`) and `kaon dhcp-agent` with the real
dnsmasq driver share a private RabbitMQ node.  The agent reports in to
Neutron; the network made through Neutron's API is given to it through
the admin API (ML2 without a mechanism driver lets Neutron's scheduler
pick no host: tests/support/neutron.py); the agent creates its DHCP port
through Neutron's RPC, starts dnsmasq, hears of the VM's port and of a
subnet change by Neutron's casts, and the VM gets its lease.

Everything made is removed after the test, also when it failed.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import requests

from kaon import naming
from kaon.constants import dhcp_device_id
from tests.e2e.conftest import BRIDGE_PREFIX, RUN, STATE_PREFIX, _missing
from tests.e2e.split import port_ip
from tests.interop import common
from tests.support.agent import AgentProcess, wait_for
from tests.support.mariadb import MariaDB
from tests.support.neutron import NeutronServer
from tests.support.rabbitmq import RabbitMQ
from tests.support.vm import Lease, Vm, Vms

pytestmark = pytest.mark.slow

TIMEOUT = 120           # neutron-server's first start migrates a schema


class Neutron:
    """Neutron's API, as an admin (noauth)."""

    def __init__(self, url: str) -> None:
        self.url = url + '/v2.0'

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = requests.post(f'{self.url}/{path}', json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        return dict(resp.json() or {})

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = requests.put(f'{self.url}/{path}', json=body, timeout=30)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            resp = requests.get(f'{self.url}/{path}', timeout=30)
        except requests.ConnectionError:
            return None
        return dict(resp.json()) if resp.status_code == 200 else None


class KaonAgentOnNeutron:
    def __init__(self, rabbit: RabbitMQ, db: MariaDB) -> None:
        self.server = NeutronServer(rabbit.url,
                                    db.create_database('neutron'))
        self.agent = AgentProcess(
            0, rabbit.url, {'report_interval': 2,
                            'dhcp_lease_duration': 600},
            f'{STATE_PREFIX}{RUN}-on-neutron-')
        self.api = Neutron(self.server.url)
        self.vms = Vms()
        self.networks: list[str] = []

    def wait(self, predicate: Callable[[], Any], what: str) -> Any:
        """wait_for, failing with the processes' logs."""
        try:
            return wait_for(predicate, TIMEOUT, what, interval=0.2)
        except AssertionError as err:
            raise AssertionError(
                f'{err}\n--- kaon dhcp-agent\n{self.agent.log()}\n'
                f'--- neutron-rpc-server\n{self.server.log("rpc")}\n'
                f'--- neutron api\n{self.server.log("api")}') from None

    def vm(self, port: dict[str, Any]) -> Vm:
        return self.vms(naming.bridge(BRIDGE_PREFIX, port['network_id']),
                        port['mac_address'])

    def lease(self, vm: Vm, check: Callable[[Lease], bool]) -> Lease:
        return common.lease(vm, check, self.wait)

    def close(self) -> None:
        try:
            self.agent.kill()
            self.server.stop()
            left = common.remove_made(
                self.agent.state,
                [self.agent.namespace(n) for n in self.networks],
                [self.agent.bridge(n) for n in self.networks], self.vms)
        finally:
            self.agent.close()
        assert not left, left


@pytest.fixture
def deployment() -> Iterator[KaonAgentOnNeutron]:
    reason = _missing()
    assert reason is None, f'interop tests: {reason} (run ./dev setup)'
    with RabbitMQ() as rabbit, MariaDB() as db:
        env = KaonAgentOnNeutron(rabbit, db)
        try:
            env.server.start()
            yield env
        finally:
            env.close()


def _only_agent(neutron: Neutron, host: str) -> dict[str, Any] | None:
    agents = (neutron.get('agents') or {}).get('agents', [])
    return next((a for a in agents if a['host'] == host and a['alive']),
                None)


def test_kaon_dhcp_agent_serves_a_neutron_network(
        deployment: KaonAgentOnNeutron) -> None:
    env, neutron = deployment, deployment.api
    env.wait(lambda: neutron.get('networks') is not None,
             "Neutron's API answering")
    env.agent.start()
    agent = env.wait(lambda: _only_agent(neutron, env.agent.host),
                     'kaon dhcp-agent alive in Neutron')
    assert agent['agent_type'] == 'DHCP agent'

    net = neutron.post('networks', {'network': {'name': 'kt'}})['network']
    env.networks.append(net['id'])
    sub = neutron.post('subnets', {'subnet': {
        'network_id': net['id'], 'cidr': '10.96.0.0/24',
        'ip_version': 4}})['subnet']
    neutron.post(f'agents/{agent["id"]}/dhcp-networks',
                 {'network_id': net['id']})
    # Its DHCP port, made through Neutron's create_dhcp_port.
    dhcp = env.wait(lambda: (neutron.get(
        f'ports?network_id={net["id"]}&device_owner=network:dhcp')
        or {}).get('ports'), 'the DHCP port in Neutron')[0]
    assert dhcp['binding:host_id'] == env.agent.host
    assert dhcp['device_id'] == dhcp_device_id(env.agent.host, net['id'])

    port = neutron.post('ports', {'port': {
        'network_id': net['id'], 'device_owner': 'compute:nova',
        'device_id': 'kt-vm'}})['port']
    vm = env.vm(port)
    lease = env.lease(vm, lambda got: got.ip == port_ip(port))
    assert lease.router == sub['gateway_ip']

    neutron.put(f'subnets/{sub["id"]}',
                {'subnet': {'dns_nameservers': ['10.96.0.53']}})
    renewed = env.lease(vm, lambda got: got.dns == ['10.96.0.53'])
    assert renewed.ip == port_ip(port)
    assert env.agent.running(), env.agent.log()
