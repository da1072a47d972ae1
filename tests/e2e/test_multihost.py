"""Networks across hosts: VXLAN, the L2 agent with l2population, compute
per host, DHCP from network nodes, and its failover under renewals.

Every "host" is a network namespace on a test underlay with its own
config file and processes (tests/support/multihost.py): `kaon l2-agent`
on each, `kaon dhcp-agent` on network nodes, VMs booted with `kaon vm
boot --host` inside the host; one `kaon server` (2 API workers) on a
private PostgreSQL and RabbitMQ.  Traffic between VMs on different hosts
crosses the underlay in kernel VXLAN packets; the checks read the truth
from the kernel (addresses inside the VMs, fdb entries through netlink
in each host's namespace) and from dnsmasq's lease files.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterator

import pytest

from tests.support.multihost import Cluster, Host

pytestmark = pytest.mark.slow

FLOOD = '00:00:00:00:00:00'
CIDR = '10.61.0.0/24'
VM_IPS = {'a1': '10.61.0.11', 'a2': '10.61.0.12', 'a3': '10.61.0.13',
          'b1': '10.61.0.21'}
CONVERGE = 20               # seconds for agents and server to catch up


@pytest.fixture(scope='module')
def cloud() -> Iterator[Cluster]:
    """One network node and two compute nodes."""
    with Cluster() as cluster:
        cluster.add_host('net1', network_node=True)
        cluster.add_host('cmp1')
        cluster.add_host('cmp2')
        yield cluster


@pytest.fixture(scope='module')
def net_a(cloud: Cluster) -> dict[str, Any]:
    """Network A with VM a1 on cmp1 and a2 on cmp2."""
    network, _ = cloud.api.network(CIDR)
    for vm, host in (('a1', 'cmp1'), ('a2', 'cmp2')):
        cloud.hosts[host].boot(vm, network['id'], '--fixed-ip', VM_IPS[vm])
    return network


def vxlan(network: dict[str, Any]) -> str:
    assert network['provider:network_type'] == 'vxlan', network
    return f"vxlan-{network['provider:segmentation_id']}"


def bridge(network: dict[str, Any]) -> str:
    return 'brq' + network['id'][:11]


def lease_macs(host: Host, network_id: str) -> set[str]:
    """MACs in the lease file of the host's dnsmasq for the network."""
    try:
        with open(os.path.join(host.state, 'dhcp', network_id,
                               'leases')) as f:
            return {line.split()[1] for line in f if len(line.split()) > 2}
    except OSError:
        return set()


def port_of(cloud: Cluster, network_id: str, name: str) -> dict[str, Any]:
    ports = cloud.api.list('port', network_id=network_id, name=name)
    assert len(ports) == 1, ports
    return ports[0]


def expected_fdb(cloud: Cluster, network: dict[str, Any],
                 host: Host) -> set[tuple[str, str]]:
    """What l2population must have written on `host` for the network:
    for every other host with ports of it, a flooding entry and one
    entry per port MAC, to that host's underlay address."""
    addresses = {h.name: h.address for h in cloud.hosts.values()}
    entries = set()
    for port in cloud.api.list('port', network_id=network['id']):
        where = port['binding:host_id']
        if where in addresses and where != host.name:
            entries |= {(FLOOD, addresses[where]),
                        (port['mac_address'], addresses[where])}
    return entries


def dhcp_ips(cloud: Cluster, network_id: str) -> set[str]:
    return {p['fixed_ips'][0]['ip_address']
            for p in cloud.api.dhcp_ports(network_id)}


# -- three hosts ----------------------------------------------------------

def test_vms_on_two_computes_lease_from_network_node_and_ping(
        cloud: Cluster, net_a: dict[str, Any]) -> None:
    net1, cmp1, cmp2 = (cloud.hosts[h] for h in ('net1', 'cmp1', 'cmp2'))
    for vm, host in (('a1', cmp1), ('a2', cmp2)):
        assert host.vm_addresses(vm) == [VM_IPS[vm]], host.console(vm)
        port = port_of(cloud, net_a['id'], vm)
        assert port['binding:host_id'] == host.name
        assert port['binding:vif_type'] == 'bridge'
        assert port['status'] == 'ACTIVE'
        lease = host.lease(vm)
        assert lease is not None and lease['ip'] == VM_IPS[vm]
        # The DNS server it was given is the network node's DHCP port.
        assert set(lease['dns'].split()) == dhcp_ips(cloud, net_a['id'])
    # The leases are in the network node's dnsmasq, the only one there is.
    macs = {port_of(cloud, net_a['id'], vm)['mac_address']
            for vm in ('a1', 'a2')}
    assert macs <= lease_macs(net1, net_a['id'])
    assert not lease_macs(cmp1, net_a['id']) | lease_macs(cmp2, net_a['id'])
    # VM to VM across hosts, both ways: over the tunnel.
    assert cmp1.ping('a1', VM_IPS['a2'], count=3), cloud.logs()
    assert cmp2.ping('a2', VM_IPS['a1'], count=3)
    # Each host has the network's bridge and VXLAN device; l2population
    # wrote unicast entries for the other hosts' ports and flooding ones.
    for host in (net1, cmp1, cmp2):
        assert host.vxlan_fdb()[vxlan(net_a)] == \
            expected_fdb(cloud, net_a, host), host.name
    a2_mac = port_of(cloud, net_a['id'], 'a2')['mac_address']
    assert (a2_mac, cmp2.address) in cmp1.vxlan_fdb()[vxlan(net_a)]


def test_second_network_is_isolated(cloud: Cluster,
                                    net_a: dict[str, Any]) -> None:
    """Network B has the same CIDR on another VNI: its VM, on the same
    host as a1, gets B's lease and reaches none of A's VMs."""
    net1, cmp1, cmp2 = (cloud.hosts[h] for h in ('net1', 'cmp1', 'cmp2'))
    net_b, _ = cloud.api.network(CIDR)
    assert net_b['provider:segmentation_id'] != \
        net_a['provider:segmentation_id']
    cmp1.boot('b1', net_b['id'], '--fixed-ip', VM_IPS['b1'])
    lease = cmp1.lease('b1')
    assert lease is not None and lease['ip'] == VM_IPS['b1']
    assert set(lease['dns'].split()) == dhcp_ips(cloud, net_b['id'])
    b1_mac = port_of(cloud, net_b['id'], 'b1')['mac_address']
    assert b1_mac in lease_macs(net1, net_b['id'])
    assert b1_mac not in lease_macs(net1, net_a['id'])

    for ip in (VM_IPS['a1'], VM_IPS['a2']):
        assert not cmp1.ping('b1', ip, count=2)
    assert not cmp1.ping('a1', VM_IPS['b1'], count=2)
    assert not cmp2.ping('a2', VM_IPS['b1'], count=2)
    # Not a frame of b1 (its DHCP broadcasts, its ARPs) reached A's
    # bridge on any host, while a1's frames did reach them.
    a1_mac = port_of(cloud, net_a['id'], 'a1')['mac_address']
    for host in (net1, cmp1, cmp2):
        seen = host.learned(bridge(net_a))
        assert b1_mac not in seen, host.name
    assert a1_mac in net1.learned(bridge(net_a))
    # B's VXLAN device is only where B has a port: not on cmp2.
    assert vxlan(net_b) in cmp1.vxlan_fdb()
    assert vxlan(net_b) not in cmp2.vxlan_fdb()
    assert vxlan(net_b) in net1.vxlan_fdb()


def test_deleted_vm_leaves_no_forwarding_entry(
        cloud: Cluster, net_a: dict[str, Any]) -> None:
    net1, cmp1, cmp2 = (cloud.hosts[h] for h in ('net1', 'cmp1', 'cmp2'))
    cmp2.boot('a3', net_a['id'], '--fixed-ip', VM_IPS['a3'])
    mac = port_of(cloud, net_a['id'], 'a3')['mac_address']
    for host in (net1, cmp1):
        cloud.wait(lambda h=host: (mac, cmp2.address) in
                   h.vxlan_fdb()[vxlan(net_a)], CONVERGE,
                   f'a3 in the fdb of {host.name}')
    cmp2.delete_vm('a3')

    def entries_of_a3() -> list[str]:
        return [f'{h.name} {dev} {dst}' for h in (net1, cmp1)
                for dev, entries in h.vxlan_fdb().items()
                for m, dst in entries if m == mac]
    cloud.wait(lambda: not entries_of_a3(), CONVERGE,
               lambda: f'no forwarding entry for the deleted VM on other '
                       f'hosts; left: {entries_of_a3()}')
    # a2 still is on cmp2: its entries and the flooding entry stay.
    assert (FLOOD, cmp2.address) in cmp1.vxlan_fdb()[vxlan(net_a)]
    assert cmp1.ping('a1', VM_IPS['a2'])


def test_l2_agent_restart_keeps_connectivity_and_rebuilds_fdb(
        cloud: Cluster, net_a: dict[str, Any]) -> None:
    cmp1, cmp2 = cloud.hosts['cmp1'], cloud.hosts['cmp2']
    device = vxlan(net_a)
    before = expected_fdb(cloud, net_a, cmp1)
    assert (FLOOD, cmp2.address) in before
    indexes = cmp1.ns.run('ip', '-o', 'link', 'show', 'master',
                          bridge(net_a)).stdout
    assert cmp1.ping('a1', VM_IPS['a2'])

    cmp1.kill('l2-agent')
    # The data plane does not need the agent.
    assert cmp1.ping('a1', VM_IPS['a2'])
    for mac, dst in cmp1.vxlan_fdb()[device]:
        result = cmp1.ns.run('bridge', 'fdb', 'del', mac, 'dev', device,
                             'dst', dst)
        assert result.returncode == 0, result.stderr
    assert cmp1.vxlan_fdb()[device] == set()
    assert not cmp1.ping('a1', VM_IPS['a2'])

    cmp1.start('l2-agent')
    cloud.wait(lambda: cmp1.vxlan_fdb()[device] == before, CONVERGE,
               lambda: f'the fdb of {device} on cmp1 rebuilt: {before}; '
                       f'now: {cmp1.vxlan_fdb()[device]}')
    assert cmp1.ping('a1', VM_IPS['a2'], count=3)
    assert cmp2.ping('a2', VM_IPS['a1'])
    assert cmp1.vm_addresses('a1') == [VM_IPS['a1']]
    # The VM was not re-plugged: same taps, same indexes on the bridge.
    assert cmp1.ns.run('ip', '-o', 'link', 'show', 'master',
                       bridge(net_a)).stdout == indexes


# -- network node failure under renewals ------------------------------------

class Renewals:
    """Every `period` seconds, SIGUSR1 to every VM's udhcpc (renew now),
    and a record of each VM's addresses at that moment."""

    def __init__(self, host: Host, vms: list[str], period: float) -> None:
        self.host, self.vms, self.period = host, vms, period
        self.samples: dict[str, list[tuple[float, list[str]]]] = {
            vm: [] for vm in vms}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for vm in self.vms:
                self.samples[vm].append((time.time(),
                                         self.host.vm_addresses(vm)))
                self.host.renew(vm)
            self.stop.wait(self.period)

    def __enter__(self) -> 'Renewals':
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(30)


FAILOVER_DOWN_TIME = 4


def test_network_node_failure_under_renewals() -> None:
    with Cluster(dhcp_agents_per_network=2,
                 agent_down_time=FAILOVER_DOWN_TIME) as cloud:
        net1 = cloud.add_host('net1', network_node=True)
        net2 = cloud.add_host('net2', network_node=True)
        cmp1 = cloud.add_host('cmp1')
        network, _ = cloud.api.network('10.62.0.0/24')
        served = cloud.wait(lambda: len(cloud.api.network_agents(
            network['id'])) == 2, CONVERGE, 'the network on two agents')
        assert served
        vms = [f'v{i}' for i in range(1, 5)]
        for vm in vms:
            cmp1.boot(vm, network['id'])
        held = {vm: cmp1.vm_addresses(vm) for vm in vms}
        booted = {vm: cmp1.console(vm) for vm in vms}
        assert all(len(a) == 1 for a in held.values()), held
        net1_port = [p for p in cloud.api.dhcp_ports(network['id'])
                     if p['binding:host_id'] == net1.name]
        assert len(net1_port) == 1, cloud.api.dhcp_ports(network['id'])
        # A third network node, up before the failure, not serving yet.
        net3 = cloud.add_host('net3', network_node=True)

        with Renewals(cmp1, vms, period=2) as renewals:
            # Renewals under way before the failure: two rounds sampled.
            cloud.wait(lambda: all(len(s) >= 2 for s in
                                   renewals.samples.values()), CONVERGE,
                       'two rounds of renewals before the failure')
            # The node fails: its agents and dnsmasqs die, and it drops
            # off the underlay (what is left of it answers nothing).
            net1.kill_agents()
            net1.ns.unplug()
            killed = time.time()
            cloud.wait(lambda: {a['host'] for a in cloud.api.network_agents(
                network['id'])} == {net2.name, net3.name},
                6 * FAILOVER_DOWN_TIME, 'the network rescheduled to net3')
            moved = time.time()
            # Renewals go on against the new agent for a while.
            cloud.wait(lambda: all((cmp1.lease(vm) or {}).get('at', 0) >
                                   moved + 1 for vm in vms),
                       6 * FAILOVER_DOWN_TIME, 'every VM renewed after it')

        for vm in vms:
            lost = [(round(t - killed, 1), a) for t, a in renewals.samples[vm]
                    if a != held[vm]]
            assert not lost, (vm, held[vm], lost)
            # udhcpc never went back to DISCOVER: it never dropped the
            # address (a NAK, a lost lease, a deconfig all start over).
            console = cmp1.console(vm)
            after = console[len(booted[vm]):]
            assert console.startswith(booted[vm]), console
            assert 'NAK' not in console and 'discover' not in after, console
            assert 'obtained' in after, console
            assert cmp1.vm_addresses(vm) == held[vm]
        # net3 took the reserved port over: same DHCP server IP and MAC.
        ports = cloud.api.dhcp_ports(network['id'])
        assert len(ports) == 2, ports
        taken = [p for p in ports if p['binding:host_id'] == net3.name]
        assert len(taken) == 1, ports
        assert taken[0]['id'] == net1_port[0]['id']
        assert taken[0]['fixed_ips'] == net1_port[0]['fixed_ips']
        assert taken[0]['mac_address'] == net1_port[0]['mac_address']
        # ... and serves at that address: l2population moved the port's
        # entries to net3, which answers the VMs there.
        address = taken[0]['fixed_ips'][0]['ip_address']
        cloud.wait(lambda: cmp1.ping('v1', address), CONVERGE,
                   f'{address} answers from net3')
        assert (taken[0]['mac_address'], net3.address) in \
            cmp1.vxlan_fdb()[vxlan(network)]
