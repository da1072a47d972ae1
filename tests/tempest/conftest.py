"""The cloud Tempest runs against: kaon behind a real Keystone (tests/
support/keystone.py, keystone_cloud.py), in the catalog as the `network`
service, over a private RabbitMQ node, with two live `kaon
dhcp-agent` processes driving real dnsmasq in namespaces (tests/support/
agent.py).  Tempest's agent tests list agents of type `DHCP agent`, one
moves a network between two of them, and PortsTestJSON.test_port_shut_down
waits for a DHCP port an agent made to go ACTIVE.

Every namespace the agents make carries this run's own prefix (`kt<tag>`),
so teardown finds them all by name, including those of networks Tempest
deleted while an agent was gone, and touches no one else's: it kills the
agents, their dnsmasqs, removes the namespaces and the networks' bridges,
and checks nothing is left, also when the run failed.
"""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from kaon import naming
from kaon.agent.linux import ip_lib
from tests.e2e.conftest import BRIDGE_PREFIX, cleanup, leftovers
from tests.support.agent import AgentProcess, wait_for
from tests.support.api import Api
from tests.support.keystone import Keystone
from tests.support.keystone_cloud import Cloud
from tests.support.rabbitmq import RabbitMQ

AGENTS = 2
REGISTER_TIMEOUT = 120   # agents start slowly on a loaded 2-core machine
AGENT_OPTIONS = {'check_child_processes_interval': 1,
                 'bulk_reload_interval': 0.5}


@pytest.fixture(scope='module')
def broker() -> Iterator[RabbitMQ]:
    with RabbitMQ() as node:
        yield node


@pytest.fixture(scope='module')
def serial_keystone() -> Iterator[Keystone]:
    """A Keystone of its own that serves one request at a time: Tempest's
    dynamic credentials make and delete projects and users from two
    workers at once, and with several threads Keystone's SQLite database
    refuses the concurrent writers ('database is locked', a 500 on a token
    request, and the test class never starts)."""
    with Keystone(threads=1) as keystone:
        yield keystone


# The reference devstack's ML2 (/work/shared/tempest): project networks on
# VXLAN (devstack's Q_ML2_TENANT_NETWORK_TYPE=vxlan with
# TENANT_TUNNEL_RANGES=1:1000), VLAN provider networks on the physical
# network `public` with all of 1..4094 (network_vlan_ranges = public;
# tempest's provider_vlans = public).
SEGMENTS = {
    'ml2': {'tenant_network_types': 'vxlan'},
    'ml2_type_vxlan': {'vni_ranges': '1:1000'},
    'ml2_type_vlan': {'network_vlan_ranges': 'public'},
}


def _add_sections(config: str, sections: dict[str, dict[str, str]]) -> None:
    """Sections appended to a server's config file before it starts (Cloud
    writes [DEFAULT], keystone_authtoken and oslo_policy)."""
    with open(config, 'a') as f:
        for section, values in sections.items():
            f.write(f'[{section}]\n' + ''.join(
                f'{k} = {v}\n' for k, v in values.items()))


@pytest.fixture(scope='module')
def tempest_cloud(serial_keystone: Keystone, broker: RabbitMQ
                  ) -> Iterator[Cloud]:
    """kaon behind Keystone with its RPC on the broker, registered, with
    the reference's segment types."""
    cloud = Cloud(serial_keystone, options={'transport_url': broker.url})
    _add_sections(cloud.server.config, SEGMENTS)
    with cloud:
        cloud.register_in_catalog()
        yield cloud


def _admin_api(cloud: Cloud) -> Api:
    api = Api(cloud.url)
    api.http.headers['X-Auth-Token'] = cloud.token('admin')
    return api


class DhcpAgents:
    """AGENTS `kaon dhcp-agent` processes, by host, with this run's
    namespace prefix; close() removes all they made."""

    def __init__(self, cloud: Cloud, transport_url: str) -> None:
        self.cloud = cloud
        self.prefix = f'kt{uuid.uuid4().hex[:6]}'
        self.agents: dict[str, AgentProcess] = {}
        for number in range(1, AGENTS + 1):
            host = f'{self.prefix}-dhcp-{number}'
            self.agents[host] = AgentProcess(
                number, transport_url, {
                    **AGENT_OPTIONS, 'host': host,
                    'dhcp_namespace_prefix': f'{self.prefix}-{number}-',
                    'bridge_prefix': BRIDGE_PREFIX},
                state_prefix=f'{self.prefix}-agent-{number}-')

    def start(self) -> None:
        api = _admin_api(self.cloud)
        for agent in self.agents.values():
            agent.start()
        for host in self.agents:
            try:
                wait_for(lambda h=host: api.alive(h), REGISTER_TIMEOUT,
                         f'{host} registered and alive')
            except AssertionError as err:
                raise AssertionError(f'{err}\n{self.logs()}') from None

    def logs(self) -> str:
        return '\n'.join(f'--- {host}\n{agent.log()}'
                         for host, agent in self.agents.items())

    def close(self) -> None:
        """Kill the agents, then remove their dnsmasqs, namespaces and the
        bridges of the networks those served; assert nothing is left."""
        left: list[str] = []
        try:
            for agent in self.agents.values():
                agent.kill()
            ours = [n for n in ip_lib.list_namespaces()
                    if n.startswith(self.prefix + '-')]
            # <prefix>-<number>-<network id>
            networks = {n.split('-', 2)[2] for n in ours}
            bridges = [naming.bridge(BRIDGE_PREFIX, n) for n in networks]
            for agent in self.agents.values():
                made = cleanup(agent.state, ours, bridges)
                left += leftovers(made, agent.state)
        finally:
            for agent in self.agents.values():
                agent.close()
        assert not left, left


@pytest.fixture(scope='module')
def dhcp_agents(tempest_cloud: Cloud, broker: RabbitMQ
                ) -> Iterator[DhcpAgents]:
    agents = DhcpAgents(tempest_cloud, broker.url)
    try:
        agents.start()
        yield agents
    finally:
        agents.close()


@pytest.fixture(scope='module')
def public_network(tempest_cloud: Cloud) -> str:
    """The cloud's external network, as a real cloud has one (Tempest's
    public_network_id): router:external, with a subnet (TEST-NET-3, no
    DHCP: no agent serves it)."""
    admin = tempest_cloud.api('admin')
    network = admin.network(name='public', **{'router:external': True})
    admin.subnet(network['id'], '203.0.113.0/24', enable_dhcp=False)
    return str(network['id'])
