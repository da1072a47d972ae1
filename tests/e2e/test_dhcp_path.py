"""The whole DHCP path, embedded: API -> plugin -> RPC -> agent -> dnsmasq
-> VM.

One `kaon server --dhcp-agent` process (SQLite, in-process kaon:// RPC)
serves the API and runs the DHCP agent; every change goes through the REST
API, and a VM (a namespace with a veth in the network's bridge, the port's
MAC) asks busybox udhcpc for its address.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Iterator

import pytest

from tests.e2e.conftest import BRIDGE_PREFIX, NS_PREFIX, cleanup
from tests.support.agent import wait_for
from tests.support.api import Api
from tests.support.server import KaonServer
from tests.support.vm import Vm, Vms

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded() -> Iterator[tuple[Api, KaonServer, Vms]]:
    server = KaonServer(server_args=('--dhcp-agent',), options={
        'host': f'kt-host-{uuid.uuid4().hex[:6]}',
        'dhcp_namespace_prefix': NS_PREFIX, 'bridge_prefix': BRIDGE_PREFIX,
        'dhcp_lease_duration': 600, 'bulk_reload_interval': 0.5,
        'check_child_processes_interval': 1, 'report_interval': 2})
    vms = Vms()
    try:
        server.start()
        yield Api(server.url), server, vms
    finally:
        vms.destroy_all()
        server.stop()
        cleanup(server.state)
        server.remove_state()


def vm_for(vms: Vms, port: dict) -> Vm:
    return vms(BRIDGE_PREFIX + port['network_id'][:11], port['mac_address'])


def leased_ip(vm: Vm) -> str | None:
    lease = vm.dhcp(tries=1)
    return lease.ip if lease else None


def namespaces() -> set[str]:
    return set(os.listdir('/run/netns')) if os.path.isdir('/run/netns') \
        else set()


def test_vm_gets_its_port_ip_gateway_and_dns(embedded):
    api, _, vms = embedded
    net, sub = api.network('10.71.0.0/24', gateway_ip='10.71.0.1',
                           dns_nameservers=['10.71.0.53', '10.71.0.54'])
    port = api.ready_port(net['id'])
    lease = vm_for(vms, port).dhcp()
    assert lease is not None, 'no lease'
    assert lease.ip == port['fixed_ips'][0]['ip_address']
    assert lease.router == '10.71.0.1'
    assert lease.dns == ['10.71.0.53', '10.71.0.54']
    assert lease.lease_time == 600


def test_deleted_port_gets_no_offer_and_changed_ip_is_served(embedded):
    api, _, vms = embedded
    net, _ = api.network('10.72.0.0/24')
    gone = api.ready_port(net['id'])
    moved = api.ready_port(net['id'])
    gone_vm, moved_vm = vm_for(vms, gone), vm_for(vms, moved)
    assert gone_vm.dhcp() is not None
    api.delete('port', gone['id'])
    time.sleep(2)           # the bound: no offer within 2 s
    assert gone_vm.dhcp(tries=2) is None

    api.put('port', moved['id'], fixed_ips=[{'ip_address': '10.72.0.200'}])
    wait_for(lambda: leased_ip(moved_vm) == '10.72.0.200', 10,
             'the new IP served')


def test_dhcp_off_stops_dnsmasq_and_on_serves_again(embedded):
    api, _, vms = embedded
    net, sub = api.network('10.73.0.0/24')
    port = api.ready_port(net['id'])
    vm = vm_for(vms, port)
    assert vm.dhcp() is not None
    namespace = NS_PREFIX + net['id']
    assert namespace in namespaces()
    api.put('subnet', sub['id'], enable_dhcp=False)
    wait_for(lambda: namespace not in namespaces(), 15, 'namespace removed')
    assert vm.dhcp(tries=2) is None
    api.put('subnet', sub['id'], enable_dhcp=True)
    wait_for(lambda: namespace in namespaces(), 15, 'namespace back')
    wait_for(lambda: vm.dhcp(tries=1) is not None, 10, 'served again')


def test_same_cidr_on_two_networks_side_by_side(embedded):
    """Two tenants' networks with one CIDR and one port IP each: every VM
    gets the address of its own network's port from its own dnsmasq."""
    api, _, vms = embedded
    leases = []
    for _ in range(2):
        net, _ = api.network('10.74.0.0/24')
        port = api.ready_port(net['id'],
                              fixed_ips=[{'ip_address': '10.74.0.50'}])
        lease = vm_for(vms, port).dhcp()
        assert lease is not None
        leases.append((lease.ip, port['mac_address'], net['id']))
    assert [ip for ip, _, _ in leases] == ['10.74.0.50', '10.74.0.50']
    assert leases[0][1] != leases[1][1]
    assert {NS_PREFIX + n for _, _, n in leases} <= namespaces()
