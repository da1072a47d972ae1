"""`kaon l2-agent` on real kernel objects: a test host (a namespace on a
test underlay, tests/support/l2host.py) runs the agent; a stand-in for
the server's side of kaon.wire_l2 answers it over RabbitMQ and sends
l2population's casts as Neutron's server does.  What is checked is what
an operator would look at: which bridge a tap is on, the VXLAN device's
VNI, local address and port, the forwarding entries (read back over
netlink), the status command.
"""
from __future__ import annotations

import subprocess
import time
import uuid
from typing import Any, Iterator

import pytest

from kaon import conf as kaon_conf, naming
from kaon.agent.linux import ip_lib, vxlan
from kaon.conf import CONF, register_messaging_opts
from kaon.rpc import common
from kaon.wire_l2 import (
    FLOODING_ENTRY,
    NETWORK_DELETE_TOPIC,
    PORT_UPDATE_TOPIC,
    DeviceDetails,
    FdbEntries,
)
from tests.e2e.test_compute import Kaon
from tests.support.agent import wait_for
from tests.support.l2host import (
    L2Host,
    ReportsStandIn,
    ServerStandIn,
    Underlay,
    UnderlayRabbit,
    cast,
    cast_fdb,
)
from tests.support.rest import Api
from tests.support.server import KaonServer

MTU = 1450
PEER_A, PEER_B = '10.254.255.9', '10.254.255.10'   # other hosts' endpoints


@pytest.fixture(scope='module')
def underlay() -> Iterator[tuple[Underlay, UnderlayRabbit]]:
    with Underlay() as net, UnderlayRabbit(net.gateway) as rabbit:
        kaon_conf.load(config_files=[])
        register_messaging_opts(CONF)
        CONF.set_override('transport_url', rabbit.url)
        yield net, rabbit
        CONF.clear_override('transport_url')


@pytest.fixture
def server(underlay: tuple[Underlay, UnderlayRabbit]
           ) -> Iterator[ServerStandIn]:
    stand_in = ServerStandIn()
    name = f'kt-l2-server-{uuid.uuid4().hex[:6]}'
    consumers = [common.server(common.PLUGIN, name, [stand_in]),
                 common.server(common.REPORTS, name,
                               [ReportsStandIn(stand_in)])]
    for consumer in consumers:
        consumer.start()
    yield stand_in
    for consumer in consumers:
        consumer.stop()
        consumer.wait()


@pytest.fixture
def make_host(underlay: tuple[Underlay, UnderlayRabbit]
              ) -> Iterator[Any]:
    hosts: list[L2Host] = []

    def make(**sections: dict[str, Any]) -> L2Host:
        net, rabbit = underlay
        hosts.append(L2Host(net, rabbit.underlay_url, **sections))
        return hosts[-1]
    yield make
    for host in hosts:
        host.close()


def port(network_id: str, network_type: str = 'vxlan',
         segmentation_id: int | None = None,
         physical_network: str | None = None) -> DeviceDetails:
    port_id = str(uuid.uuid4())
    return {'device': 'tap' + port_id[:11], 'port_id': port_id,
            'network_id': network_id, 'mac_address': 'fa:16:3e:00:00:01',
            'admin_state_up': True, 'network_type': network_type,
            'segmentation_id': segmentation_id,
            'physical_network': physical_network, 'mtu': MTU,
            'fixed_ips': [{'subnet_id': str(uuid.uuid4()),
                           'ip_address': '10.77.0.5'}],
            'device_owner': 'compute:nova'}


def plug(host: L2Host, tap: str) -> str:
    """What compute does on the host: a veth whose host end is the tap;
    the name of the VM's end."""
    vm_side = 'ktvm' + tap[3:9]
    host.ip('link', 'add', tap, 'type', 'veth', 'peer', 'name', vm_side)
    return vm_side


def fdb(network_id: str, vni: int, ports: dict[str, list[list[str]]]
        ) -> FdbEntries:
    return {network_id: {'segment_id': vni, 'network_type': 'vxlan',
                         'ports': ports}}


def links(host: L2Host) -> dict[str, ip_lib.Link]:
    return ip_lib.links(host.namespace)


def entries(host: L2Host, vni: int) -> set[tuple[str, str]]:
    return vxlan.fdb_entries(vxlan.device_name(vni), host.namespace)


def status(host: L2Host) -> tuple[int, dict[str, str]]:
    done = host.status()
    lines = dict(line.split(': ', 1) for line in done.stdout.splitlines())
    return done.returncode, lines


def test_tap_wired_into_vxlan_bridge_at_once_and_fdb_applied(
        server: ServerStandIn, make_host: Any) -> None:
    host = make_host().start()
    report = server.wait('reports', lambda r: r.get('start_flag'))
    assert report['agent_type'] == 'Linux bridge agent'
    assert report['binary'] == 'neutron-linuxbridge-agent'
    assert report['configurations']['tunneling_ip'] == host.local_ip
    assert report['configurations']['tunnel_types'] == ['vxlan']
    assert report['configurations']['l2_population'] is True
    network_id, vni = str(uuid.uuid4()), 1234
    details = port(network_id, segmentation_id=vni)
    tap = details['device']
    server.ports[tap] = details
    unknown = 'tap' + uuid.uuid4().hex[:11]

    began = time.monotonic()
    plug(host, tap)
    update = server.wait('updates', lambda u: tap in u['devices_up'])
    # polling_interval is 30 s: only the netlink event can be this fast.
    assert time.monotonic() - began < 1.0, host.log()
    assert update['refresh_tunnels'] is True
    plug(host, unknown)

    found = links(host)
    bridge = found['brq' + network_id[:11]]
    device = found[vxlan.device_name(vni)]
    assert found[tap].master == bridge.index and found[tap].up
    assert device.master == bridge.index and device.up
    assert (bridge.mtu, device.mtu, found[tap].mtu) == (MTU, MTU, MTU)
    assert vxlan.spec_of(device.name, host.namespace) == vxlan.VxlanSpec(
        vni=vni, local_ip=host.local_ip, dstport=4789, learning=False)

    other_network = str(uuid.uuid4())
    cast_fdb('add_fdb_entries', {
        **fdb(network_id, vni, {
            PEER_A: [FLOODING_ENTRY, ['fa:16:3e:aa:00:01', '10.77.0.6']],
            host.local_ip: [FLOODING_ENTRY, [details['mac_address'],
                                             '10.77.0.5']]}),
        **fdb(other_network, 99, {PEER_A: [FLOODING_ENTRY]})})
    want = {('00:00:00:00:00:00', PEER_A), ('fa:16:3e:aa:00:01', PEER_A)}
    wait_for(lambda: entries(host, vni) == want, 10,
             f'fdb {want} on vxlan-{vni}: {entries(host, vni)}')
    assert vxlan.device_name(99) not in links(host)

    cast_fdb('remove_fdb_entries', fdb(network_id, vni, {
        PEER_A: [FLOODING_ENTRY, ['fa:16:3e:aa:00:01', '10.77.0.6']]}))
    wait_for(lambda: not entries(host, vni), 10,
             f'no fdb left on vxlan-{vni}: {entries(host, vni)}')

    wait_for(lambda: status(host)[1].get('devices') == '1', 10,
             f'status shows 1 device: {host.status().stdout}')
    code, shown = status(host)
    assert code == 0, shown
    assert shown['tunneling_ip'] == host.local_ip
    assert unknown in shown['retrying'], shown
    assert shown['last_error'] == 'None'

    host.ip('link', 'del', tap)
    server.wait('updates', lambda u: u['devices_down'] == [tap])
    wait_for(lambda: bridge.name not in links(host), 10,
             'the bridge without taps is removed')
    assert device.name not in links(host)
    host.stop()


def test_restart_adopts_devices_and_resyncs_fdb(
        server: ServerStandIn, make_host: Any) -> None:
    host = make_host().start()
    network_id, vni = str(uuid.uuid4()), 2345
    details = port(network_id, segmentation_id=vni)
    tap = details['device']
    server.ports[tap] = details
    plug(host, tap)
    server.wait('updates', lambda u: tap in u['devices_up'])
    gone_port = ['fa:16:3e:aa:00:02', '10.77.0.7']
    cast_fdb('add_fdb_entries', fdb(network_id, vni, {
        PEER_A: [FLOODING_ENTRY, gone_port]}))
    wait_for(lambda: len(entries(host, vni)) == 2, 10, 'peer A entries')
    host.stop()

    # While the agent is down, peer A's port goes and peer B's comes:
    # the server's table for the network is now peer B only.
    kept_port = ['fa:16:3e:bb:00:01', '10.77.0.8']
    server.full_table = fdb(network_id, vni, {
        PEER_B: [FLOODING_ENTRY, kept_port]})
    before = links(host)[vxlan.device_name(vni)].index
    server.updates.clear()
    server.reports.clear()
    host.start()
    server.wait('reports', lambda r: r.get('start_flag'))
    update = server.wait('updates', lambda u: tap in u['devices_up'])
    assert update['refresh_tunnels'] is True
    want = {('00:00:00:00:00:00', PEER_B), (kept_port[0], PEER_B)}
    wait_for(lambda: entries(host, vni) == want, 20,
             f'fdb resynced to {want}: {entries(host, vni)}')
    found = links(host)
    assert found[vxlan.device_name(vni)].index == before    # adopted
    assert found[tap].master == found['brq' + network_id[:11]].index

    # The network and its port are deleted (the tap not unplugged yet).
    del server.ports[tap]
    cast(NETWORK_DELETE_TOPIC, 'network_delete', network_id=network_id)
    wait_for(lambda: 'brq' + network_id[:11] not in links(host), 10,
             'network_delete removes the bridge')
    assert vxlan.device_name(vni) not in links(host)
    assert tap in links(host)
    host.stop()


def test_flat_wired_and_failure_shown_then_retried(
        server: ServerStandIn, make_host: Any) -> None:
    host = make_host(linux_bridge={
        'physical_interface_mappings': 'physnet1:ktphy0'},
        agent={'polling_interval': 1})
    # The physical interface: one end of a veth (no dummy module here).
    host.ip('link', 'add', 'ktphy0', 'type', 'veth', 'peer', 'name',
            'ktphy1')
    host.start()
    flat_net = str(uuid.uuid4())
    flat_port = port(flat_net, 'flat', None, 'physnet1')
    broken = port(str(uuid.uuid4()), 'flat', None, 'physnet9')
    server.ports[flat_port['device']] = flat_port
    server.ports[broken['device']] = broken
    plug(host, flat_port['device'])
    plug(host, broken['device'])
    server.wait('updates', lambda u: flat_port['device'] in u['devices_up'])
    found = links(host)
    bridge = found['brq' + flat_net[:11]]
    assert found['ktphy0'].master == bridge.index
    assert found[flat_port['device']].master == bridge.index

    wait_for(lambda: 'physnet9' in (status(host)[1].get('last_error') or
                                    ''), 10, 'the failure in the status')
    code, shown = status(host)
    assert code == 1 and broken['device'] in shown['retrying'], shown

    # The port moves to a network this host can carry: the server's
    # port_update makes the agent ask again, and it is wired.
    fixed = dict(broken, network_type='local', physical_network=None)
    server.ports[broken['device']] = fixed   # type: ignore[assignment]
    cast(PORT_UPDATE_TOPIC, 'port_update', port={'id': broken['port_id']},
         network_type='local', segmentation_id=None, physical_network=None)
    server.wait('updates', lambda u: broken['device'] in u['devices_up'])
    wait_for(lambda: status(host)[0] == 0, 10,
             f'last_error cleared by a rescan: {host.status().stdout}')
    host.stop()


def test_kaon_up_runs_an_l2_agent() -> None:
    """The all-in-one reports its L2 agent like any other: one host, no
    tunnels (its networks are local)."""
    kaon = Kaon()
    try:
        kaon.ok('up', '--detach')
        agents = wait_for(lambda: kaon.get(
            'agents', agent_type='Linux bridge agent'), 30,
            'the L2 agent of kaon up reports')
        assert [(a['alive'], a['binary']) for a in agents] == \
            [(True, 'neutron-linuxbridge-agent')], agents
        with open(kaon.conf) as f:
            assert f"host = {agents[0]['host']}" in f.read()
        configurations = agents[0]['configurations']
        assert configurations['tunnel_types'] == []
        assert configurations['tunneling_ip'] is None
    finally:
        kaon.destroy()


def test_two_hosts_wired_by_kaon_server_ping_over_vxlan(
        underlay: tuple[Underlay, UnderlayRabbit], make_host: Any) -> None:
    """Two agents against a real `kaon server` (ML2's endpoints and
    l2population): each port goes ACTIVE once its host wired it, each
    host gets the other's entries, traffic crosses the VXLAN tunnel, and
    a port deleted leaves no entry behind."""
    _, rabbit = underlay
    with KaonServer(options={'transport_url': rabbit.url,
                             'host': 'kt-l2-server'}) as server:
        api = Api(server.url)
        hosts = [make_host().start(), make_host().start()]
        wait_for(lambda: sum(a['alive'] for a in api.list('agents', {
            'agent_type': 'Linux bridge agent'})) == 2, 30,
            'both L2 agents alive')
        vni = 3456
        net = api.network(**{'provider:network_type': 'vxlan',
                             'provider:segmentation_id': vni})
        # No DHCP: only the L2 agents' wiring stands between a port and
        # ACTIVE.
        api.subnet(net['id'], '10.77.0.0/24', enable_dhcp=False)
        ports = [api.port(net['id'], device_owner='compute:nova',
                          device_id=uuid.uuid4().hex,
                          **{'binding:host_id': h.host}) for h in hosts]
        for host, made in zip(hosts, ports, strict=True):
            vm_side = plug(host, naming.tap(made['id']))
            host.ip('link', 'set', vm_side, 'address', made['mac_address'],
                    'up')
            host.ip('addr', 'add', made['fixed_ips'][0]['ip_address'] +
                    '/24', 'dev', vm_side)
        for made in ports:
            wait_for(lambda made=made: api.show('port', made['id'])[
                'status'] == 'ACTIVE', 20, f'port {made["id"]} ACTIVE')
        for host, other, made in ((hosts[0], hosts[1], ports[1]),
                                  (hosts[1], hosts[0], ports[0])):
            want = {(vxlan.FLOOD_MAC, other.local_ip),
                    (made['mac_address'], other.local_ip)}
            wait_for(lambda host=host, want=want: entries(host, vni) == want,
                     20, f'{host.host} has {want}: {entries(host, vni)}')
        ping = subprocess.run(
            ['nsenter', f'--net=/run/netns/{hosts[0].namespace}',
             'busybox', 'ping', '-c', '1', '-W', '5',
             ports[1]['fixed_ips'][0]['ip_address']],
            capture_output=True, text=True, timeout=30)
        assert ping.returncode == 0, ping.stdout + ping.stderr

        api.remove('port', ports[1]['id'])
        wait_for(lambda: not entries(hosts[0], vni), 20,
                 f'no entry for the deleted port: {entries(hosts[0], vni)}')
        for host in hosts:
            host.stop()
