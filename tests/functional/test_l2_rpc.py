"""L2 agents against a real `kaon server` on PostgreSQL over RabbitMQ:
ML2's endpoints on `q-plugin`, port status through provisioning blocks,
and l2population's forwarding entries as the agents receive them.

The agents are tests.support.l2_agent's: the RPC side of a linuxbridge
agent (real oslo.messaging clients and consumers on the broker), no data
plane.  Networks get a vxlan segment written into the database (the
server's vxlan type driver is the "segments" branch's; with it merged
this is `provider:network_type: vxlan`).
"""
from __future__ import annotations

import functools
import threading
import time
import uuid
from typing import Any, Iterator

import pytest

from kaon import naming
from kaon.wire_l2 import FLOODING_ENTRY
from tests.support.agent import wait_for
from tests.support.l2_agent import FakeL2Agent, rpc_conf
from tests.support.postgres import PostgresInstance
from tests.support.rabbitmq import RabbitMQ
from tests.support.rest import Api
from tests.support.server import KaonServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
CAST_TIMEOUT = 20


class Cloud:
    """The server, its database, the broker, and the agents made."""

    def __init__(self, rabbit: RabbitMQ, pg: PostgresInstance) -> None:
        self.db_url = pg.create_database('kaon_' + uuid.uuid4().hex[:12])
        self.server = KaonServer(db_url=self.db_url, options={
            'transport_url': rabbit.url, 'host': 'kt-l2-server'})
        self.server.start()
        self.api = Api(self.server.url)
        self.conf = rpc_conf(rabbit.url)
        self.agents: list[FakeL2Agent] = []
        self.subnet_octet = 0

    def agent(self, host: str, ip: str) -> FakeL2Agent:
        agent = FakeL2Agent(self.conf, f'{host}-{uuid.uuid4().hex[:6]}', ip)
        self.agents.append(agent)
        assert agent.report(start_flag=True) == 'new'
        return agent

    def vxlan_network(self, vni: int) -> dict[str, Any]:
        net = self.api.network(**{'provider:network_type': 'vxlan',
                                  'provider:segmentation_id': vni})
        self.subnet_octet += 1
        self.api.subnet(net['id'], f'10.93.{self.subnet_octet}.0/24')
        return net

    def port(self, net: dict[str, Any], host: str | None = None,
             **attrs: Any) -> dict[str, Any]:
        if host is not None:
            attrs['binding:host_id'] = host
        return self.api.port(net['id'], device_owner='compute:nova',
                             device_id=uuid.uuid4().hex, **attrs)

    def status(self, port: dict[str, Any]) -> str:
        return str(self.api.show('port', port['id'])['status'])

    def dhcp_ready(self, ports: list[dict[str, Any]]) -> None:
        self.agents[0].call('dhcp_ready_on_ports', version='1.5',
                            port_ids=[p['id'] for p in ports])

    def close(self) -> None:
        for agent in self.agents:
            agent.close()
        self.conf.clear_override('transport_url')
        self.server.stop()
        self.server.remove_state()


@pytest.fixture(scope='module')
def cloud() -> Iterator[Cloud]:
    with RabbitMQ() as rabbit, PostgresInstance() as pg:
        made = Cloud(rabbit, pg)
        try:
            yield made
        finally:
            made.close()


def tap(port: dict[str, Any]) -> str:
    return naming.tap(port['id'])


def entries(port: dict[str, Any]) -> list[list[str]]:
    return [[port['mac_address'], a['ip_address']]
            for a in port['fixed_ips']]


def test_device_details_by_tap_name(cloud: Cloud) -> None:
    agent = cloud.agent('kt-det', '10.254.9.1')
    net = cloud.vxlan_network(901)
    port = cloud.port(net, agent.host)
    elsewhere = cloud.port(net, 'kt-other-host')
    got = agent.call('get_devices_details_list_and_failed_devices',
                     version='1.5', devices=[tap(port), tap(elsewhere),
                                             'tapnosuchport'])
    assert got['failed_devices'] == []
    details, other, unknown = got['devices']
    assert other == {'device': tap(elsewhere)}
    assert unknown == {'device': 'tapnosuchport'}
    assert details == {
        'device': tap(port), 'port_id': port['id'], 'network_id': net['id'],
        'mac_address': port['mac_address'], 'admin_state_up': True,
        'network_type': 'vxlan', 'segmentation_id': 901,
        'physical_network': None, 'mtu': net['mtu'],
        'fixed_ips': port['fixed_ips'], 'device_owner': 'compute:nova',
        'allowed_address_pairs': [], 'port_security_enabled': True,
        'qos_policy_id': None, 'network_qos_policy_id': None,
        'profile': {}, 'propagate_uplink_status': False}
    assert agent.call('get_device_details', device=port['id']) == details \
        | {'device': port['id']}


def test_port_is_active_once_dhcp_and_l2_are_done(cloud: Cloud) -> None:
    agent = cloud.agent('kt-act', '10.254.9.2')
    net = cloud.vxlan_network(902)
    l2_first, dhcp_first = cloud.port(net, agent.host), \
        cloud.port(net, agent.host)
    got = agent.devices_up([tap(l2_first)])
    assert got == {'devices_up': [tap(l2_first)], 'failed_devices_up': [],
                   'devices_down': [], 'failed_devices_down': []}
    assert cloud.status(l2_first) == 'DOWN'     # DHCP is still to come
    cloud.dhcp_ready([l2_first, dhcp_first])
    assert cloud.status(l2_first) == 'ACTIVE'
    assert cloud.status(dhcp_first) == 'DOWN'   # L2 is still to come
    agent.devices_up([tap(dhcp_first)])
    assert cloud.status(dhcp_first) == 'ACTIVE'
    # A host with no L2 agent: DHCP alone, as before L2 agents.
    no_agent = cloud.port(net, 'kt-host-without-l2-agent')
    cloud.dhcp_ready([no_agent])
    assert cloud.status(no_agent) == 'ACTIVE'
    # The device goes away: DOWN; back again: ACTIVE (nothing blocks it).
    agent.devices_down([tap(dhcp_first)])
    assert cloud.status(dhcp_first) == 'DOWN'
    agent.devices_up([tap(dhcp_first)])
    assert cloud.status(dhcp_first) == 'ACTIVE'


def test_l2population_casts(cloud: Cloud) -> None:
    a = cloud.agent('kt-a', '10.254.9.11')
    b = cloud.agent('kt-b', '10.254.9.12')
    net = cloud.vxlan_network(904)
    p1, p2, p3 = (cloud.port(net, h) for h in (a.host, b.host, a.host))

    def added(agent: FakeL2Agent, ip: str, want: list[list[str]],
              since: float = 0.0) -> bool:
        got = agent.fdb.entries('add_fdb_entries', net['id'], since)
        return all(e in got.get(ip, []) for e in want)

    # A's first port: every host hears of A (flooding entry + the port).
    a.devices_up([tap(p1)])
    wait_for(lambda: added(b, a.ip, [FLOODING_ENTRY] + entries(p1)),
             CAST_TIMEOUT, 'the fanout of A\'s first port')
    # B's first port: B alone gets the full table (A's entries) cast.
    b_up = time.monotonic()
    b.devices_up([tap(p2)])
    wait_for(lambda: added(a, b.ip, [FLOODING_ENTRY] + entries(p2)),
             CAST_TIMEOUT, 'the fanout of B\'s first port')
    wait_for(lambda: added(b, a.ip, [FLOODING_ENTRY] + entries(p1), b_up),
             CAST_TIMEOUT, 'the full table cast to B')
    # A's second port: its entries, no flooding entry, no table for A.
    second = time.monotonic()
    a.devices_up([tap(p3)])
    wait_for(lambda: added(b, a.ip, entries(p3), second), CAST_TIMEOUT,
             'the fanout of A\'s second port')
    wait_for(lambda: a.fdb.entries('add_fdb_entries', net['id'], second)
             == {a.ip: entries(p3)}, CAST_TIMEOUT, 'A hears of p3 alone')

    # Deleted: its entries go, A's flooding entry stays (p1 is there).
    cloud.api.remove('port', p3['id'])
    wait_for(lambda: b.fdb.entries('remove_fdb_entries', net['id'])
             == {a.ip: entries(p3)}, CAST_TIMEOUT, 'p3 removed')
    # p1 moves to a host without agent: A has no port left.
    cloud.api.update('port', p1['id'], **{'binding:host_id': 'kt-gone'})
    wait_for(lambda: b.fdb.entries('remove_fdb_entries', net['id'])
             .get(a.ip) == entries(p3) + [FLOODING_ENTRY] + entries(p1),
             CAST_TIMEOUT, 'p1 removed from A')
    # B's device goes down: B's entries go.
    b.devices_down([tap(p2)])
    wait_for(lambda: a.fdb.entries('remove_fdb_entries', net['id'])
             .get(b.ip) == [FLOODING_ENTRY] + entries(p2), CAST_TIMEOUT,
             'p2 removed from B')
    assert cloud.status(p2) == 'DOWN'


def test_a_restarted_agent_gets_the_full_table_again(cloud: Cloud) -> None:
    a = cloud.agent('kt-ra', '10.254.9.21')
    b = cloud.agent('kt-rb', '10.254.9.22')
    net = cloud.vxlan_network(905)
    pa, pb = cloud.port(net, a.host), cloud.port(net, b.host)
    a.devices_up([tap(pa)])
    b.devices_up([tap(pb)])
    wait_for(lambda: b.ip in a.fdb.floods(net['id']), CAST_TIMEOUT,
             'A hears of B')
    restart = time.monotonic()
    assert a.report(start_flag=True) == 'alive'
    a.devices_up([tap(pa)])             # its resync after the restart
    wait_for(lambda: b.ip in a.fdb.floods(net['id'], restart),
             CAST_TIMEOUT, 'the full table cast to the restarted A')
    refresh = time.monotonic()
    a.devices_up([tap(pa)], refresh_tunnels=True)
    wait_for(lambda: b.ip in a.fdb.floods(net['id'], refresh),
             CAST_TIMEOUT, 'the full table cast on refresh_tunnels')
    wait_for(lambda: a.ip in b.fdb.floods(net['id'], refresh),
             CAST_TIMEOUT, 'A flooding again, fanned out')
    # Without either: no table again.
    quiet = time.monotonic()
    b.devices_up([tap(pb)])
    wait_for(lambda: a.fdb.entries('add_fdb_entries', net['id'], quiet),
             CAST_TIMEOUT, 'B\'s port announced again')
    assert a.ip not in b.fdb.entries('add_fdb_entries', net['id'], quiet)


def test_sixteen_ports_on_four_hosts_at_once(cloud: Cloud) -> None:
    """Every host ends up flooding to every other: no first-port table
    lost to a concurrent first port elsewhere."""
    agents = [cloud.agent(f'kt-c{n}', f'10.254.9.{31 + n}')
              for n in range(4)]
    net = cloud.vxlan_network(906)
    ports = {a.host: [cloud.port(net, a.host) for _ in range(4)]
             for a in agents}
    started: dict[str, float] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def up(agent: FakeL2Agent, port: dict[str, Any]) -> None:
        try:
            barrier.wait()
            started.setdefault(agent.host, time.monotonic())
            assert agent.devices_up([tap(port)])['failed_devices_up'] == []
        except BaseException as err:  # noqa: BLE001 - re-raised below
            errors.append(err)
    threads = [threading.Thread(target=up, args=(a, p))
               for a in agents for p in ports[a.host]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    def complete(agent: FakeL2Agent) -> bool:
        # What the agent applies: casts after it wired the network.
        got = agent.fdb.entries('add_fdb_entries', net['id'],
                                started[agent.host])
        return all(FLOODING_ENTRY in got.get(o.ip, []) and all(
            e in got[o.ip] for p in ports[o.host] for e in entries(p))
            for o in agents if o is not agent)
    for agent in agents:
        wait_for(functools.partial(complete, agent), CAST_TIMEOUT,
                 f'{agent.host} has every other host\'s entries')
    for port_list in ports.values():
        cloud.dhcp_ready(port_list)
        assert {cloud.status(p) for p in port_list} == {'ACTIVE'}
