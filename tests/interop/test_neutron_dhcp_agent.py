"""Neutron's own DHCP agent (neutron 29.0.0 from PyPI) serving a kaon network.

A real `neutron-dhcp-agent` talks to a real `kaon server` over a private
RabbitMQ node: it reports in, is scheduled the network when its subnet is
made, creates its DHCP port through kaon's RPC, runs its own dnsmasq in its
own `qdhcp-` namespace, hears of ports and subnet changes by kaon's casts,
and a VM (busybox udhcpc in a namespace on the network's bridge) gets its
lease from that dnsmasq.  Neutron's null interface driver leaves the DHCP
port's device to the host's wiring, which the test does as an L2 agent
would (tests/support/neutron.py says why and what else Neutron needed).

Everything made is removed after each test, also when it failed: the
agent's processes, its dnsmasq, namespaces, bridges, veths and VMs.
"""
from __future__ import annotations

import shutil
import uuid
from typing import Any, Callable, Iterator

import pytest

from kaon import naming
from tests.e2e.conftest import (
    BRIDGE_PREFIX,
    RUN,
    STATE_PREFIX,
    _missing,
    _our_dnsmasqs,
)
from tests.e2e.split import port_ip
from tests.interop import common
from tests.support.agent import wait_for
from tests.support.api import Api
from tests.support.neutron import NeutronDhcpAgent, plug_dhcp_port
from tests.support.rabbitmq import RabbitMQ
from tests.support.server import KaonServer
from tests.support.vm import Lease, Vm, Vms

pytestmark = pytest.mark.slow

# Neutron's agent starts a privsep daemon per privilege context (about 2 s
# each here) on its first network: the first lease takes a while.
SERVED_TIMEOUT = 120


@pytest.fixture(scope='module')
def rabbit() -> Iterator[RabbitMQ]:
    reason = _missing()
    assert reason is None, f'interop tests: {reason} (run ./dev setup)'
    with RabbitMQ() as node:
        yield node


class NeutronAgentOnKaon:
    """kaon server + Neutron's DHCP agent over one broker, the networks
    made, their wiring and the VMs; close() removes all of it."""

    def __init__(self, rabbit: RabbitMQ) -> None:
        self.server = KaonServer(options={
            'transport_url': rabbit.url,
            'host': f'kt-server-{uuid.uuid4().hex[:6]}'})
        self.agent = NeutronDhcpAgent(rabbit.url,
                                      f'{STATE_PREFIX}{RUN}-neutron-')
        self.vms = Vms()
        self.networks: list[str] = []
        self.root_ends: list[str] = []
        self.server.start()
        self.api = Api(self.server.url)

    def wait(self, predicate: Callable[[], Any], what: str) -> Any:
        """wait_for, failing with the processes' logs."""
        try:
            return wait_for(predicate, SERVED_TIMEOUT, what, interval=0.2)
        except AssertionError as err:
            raise AssertionError(
                f'{err}\n--- neutron-dhcp-agent\n{self.agent.log()}\n'
                f'--- kaon server\n{self.server.log()[-3000:]}') from None

    def bridge(self, network_id: str) -> str:
        return naming.bridge(BRIDGE_PREFIX, network_id)

    def network(self, cidr: str) -> tuple[dict, dict]:
        net, sub = self.api.network(cidr)
        self.networks.append(net['id'])
        return net, sub

    def wire_dhcp_port(self, network_id: str) -> dict:
        """Wait for the agent's DHCP port (made through kaon's RPC) and
        plug its device into the network's bridge."""
        port = self.wait(lambda: next(iter(
            p for p in self.api.dhcp_ports(network_id)
            if p['binding:host_id'] == self.agent.host), None),
            f'the DHCP port of {self.agent.host}')
        self.root_ends.append(plug_dhcp_port(
            self.agent.namespace(network_id), port, self.bridge(network_id)))
        return port

    def vm(self, port: dict) -> Vm:
        return self.vms(self.bridge(port['network_id']), port['mac_address'])

    def lease(self, vm: Vm, check: Callable[[Lease], bool]) -> Lease:
        return common.lease(vm, check, self.wait)

    def close(self) -> None:
        try:
            self.agent.stop()
            self.server.stop()
            left = common.remove_made(
                self.agent.state,
                [self.agent.namespace(n) for n in self.networks],
                [self.bridge(n) for n in self.networks] + self.root_ends,
                self.vms)
        finally:
            self.server.remove_state()
            shutil.rmtree(self.agent.state, ignore_errors=True)
        assert not left, left


@pytest.fixture
def deployment(rabbit: RabbitMQ) -> Iterator[NeutronAgentOnKaon]:
    env = NeutronAgentOnKaon(rabbit)
    try:
        yield env
    finally:
        env.close()


def test_neutron_dhcp_agent_serves_a_kaon_network(
        deployment: NeutronAgentOnKaon) -> None:
    env, api = deployment, deployment.api
    env.agent.start()
    agent = env.wait(lambda: api.alive(env.agent.host),
                     'neutron-dhcp-agent registered and alive in kaon')
    assert (agent['binary'], agent['agent_type']) == (
        'neutron-dhcp-agent', 'DHCP agent')

    net, sub = env.network('10.94.0.0/24')
    dhcp_port = env.wire_dhcp_port(net['id'])
    assert dhcp_port['device_id'].endswith(net['id'])
    port = api.post('port', network_id=net['id'], device_owner='compute:nova',
                    device_id=f'vm-{uuid.uuid4().hex[:6]}')
    vm = env.vm(port)
    lease = env.lease(vm, lambda got: got.ip == port_ip(port))
    assert lease.router == sub['gateway_ip']
    # Neutron's dnsmasq, from the agent's state path, gave it.
    assert _our_dnsmasqs(env.agent.state)
    # dhcp_ready_on_ports from Neutron's agent made the port ACTIVE.
    env.wait(lambda: api.get('port', port['id'])['status'] == 'ACTIVE',
             'the VM port ACTIVE')

    # A subnet change reaches it by subnet_update_end and get_network_info.
    api.put('subnet', sub['id'], dns_nameservers=['10.94.0.53'])
    renewed = env.lease(vm, lambda got: got.dns == ['10.94.0.53'])
    assert renewed.ip == port_ip(port)

    # Nothing kaon sent lacked a key Neutron's agent reads.
    log = env.agent.log(tail=10**7)
    assert 'AttributeError' not in log and 'KeyError' not in log, log
