"""A network node dies; its networks move to another and keep their DHCP
server: the same port (id, IP, MAC) answers, and VMs renew their address.

One `kaon server` on the module's RabbitMQ, two `kaon dhcp-agent`
processes standing for two network nodes (tests/e2e/split.py: own host,
state path and namespace prefix; one bridge per network, the L2 segment
they share), dhcp_agents_per_network = 1 and agent_down_time 6 s.  The VM
is a kaon guest (kaon.compute.guest): busybox udhcpc keeps running,
configures eth0 and renews (forced with SIGUSR1, as its T1 timer would),
and what it prints is the console log.

What a client sees: its renewal is unicast to the server's address; the
port behind it is the one the new agent took over, so the same IP and MAC
answer, and dnsmasq, seeded with a lease per port, ACKs -- no NAK, no
rebinding, and the DNS server it lists is still served.
"""
from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from typing import Any, Iterator

import pytest

from kaon import naming
from kaon.compute.guest import Guest
from kaon.constants import DEVICE_ID_RESERVED_DHCP_PORT, dhcp_device_id
from tests.e2e import test_dhcp_split
from tests.e2e.conftest import BRIDGE_PREFIX
from tests.e2e.split import AGENT_DOWN_TIME, Split, port_ip
from tests.e2e.test_dhcp_split import (
    kill_pid,
    namespaces,
    serving_pid,
)
from tests.support.agent import AgentProcess
from tests.support.vm import VETH_PREFIX, VM_PREFIX

pytestmark = pytest.mark.slow
# The split tests' fixture: a server and agents over the module's broker.
split = test_dhcp_split.split


@pytest.fixture
def guests() -> Iterator[list[Guest]]:
    made: list[Guest] = []
    yield made
    for guest in made:
        guest.destroy()


def boot(split: Split, guests: list[Guest], port: dict[str, Any]) -> Guest:
    """A VM on the port, holding its lease."""
    suffix = uuid.uuid4().hex[:8]
    guest = Guest(VM_PREFIX + suffix, VETH_PREFIX + suffix,
                  tempfile.mkdtemp(prefix='kt-vm-'))
    guests.append(guest)
    guest.plug(naming.bridge(BRIDGE_PREFIX, port['network_id']),
               port['mac_address'], 1500)
    guest.start_dhcp()
    lease = guest.wait_for_lease(20)
    assert lease is not None and lease['ip'] == port_ip(port), (
        lease, guest.console_log(), split.logs())
    return guest


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:    # between the script's rename and our read
        return None


def renew(split: Split, guest: Guest) -> dict[str, Any]:
    """SIGUSR1 to the guest's udhcpc: a renewal now; the lease it got."""
    assert guest.lease() is not None
    # The guest's script writes each lease to a new file it renames into
    # place, so a new inode is a new lease (its 'at' has whole seconds).
    before = os.stat(guest.lease_file).st_ino
    pid = guest.dhcp_pid()
    assert pid is not None, guest.console_log()
    os.kill(pid, signal.SIGUSR1)
    lease = split.wait(lambda: _inode(guest.lease_file) != before and
                       guest.lease(), 20,
                       f'a renewed lease\n{guest.console_log()}')
    return dict(lease)


def server_of(port: dict[str, Any]) -> tuple[str, str, str]:
    return port['id'], port_ip(port), port['mac_address']


def the_dhcp_port(split: Split, network_id: str, device_id: str
                  ) -> dict[str, Any]:
    return split.wait(lambda: (ports := split.api.dhcp_ports(network_id))
                      and len(ports) == 1 and
                      ports[0]['device_id'] == device_id and ports[0],
                      15, f'the one DHCP port has device id {device_id}')


def network_on_one(split: Split, cidr: str
                   ) -> tuple[str, AgentProcess, AgentProcess]:
    """A network, the agent serving it and the other one."""
    agents = {a.host: a for a in (split.start_agent(), split.start_agent())}
    net, _ = split.network(cidr)
    hosting = split.wait(lambda: split.api.network_agents(net['id']), 10,
                         'the network is scheduled')
    first = agents[hosting[0]['host']]
    second = next(a for a in agents.values() if a is not first)
    split.wait(lambda: serving_pid(first, net['id']), 15,
               f'dnsmasq of {first.host} runs')
    return net['id'], first, second


def assert_renewed_from(guest: Guest, lease: dict[str, Any],
                        ip: str, server: str) -> None:
    console = guest.console_log()
    assert lease['ip'] == ip, console
    assert lease['dns'].split() == [server], lease
    assert 'NAK' not in console, console
    obtained = [line for line in console.splitlines()
                if 'obtained from' in line]
    assert obtained[-1].split('obtained from ')[1].split(',')[0] == \
        server, console


def test_dead_network_node_networks_move_with_their_dhcp_port(
        split: Split, guests: list[Guest]) -> None:
    split.start_server(dhcp_agents_per_network=1)
    net_id, first, second = network_on_one(split, '10.86.0.0/24')
    port = split.api.ready_port(net_id)
    guest = boot(split, guests, port)
    before = the_dhcp_port(split, net_id, dhcp_device_id(first.host, net_id))
    server = port_ip(before)
    assert guest.lease()['dns'].split() == [server]

    # The network node dies, and its dnsmasq with it.
    dnsmasq = serving_pid(first, net_id)
    assert dnsmasq is not None
    first.signal(signal.SIGKILL)
    kill_pid(dnsmasq)
    killed = time.monotonic()

    after = split.wait(
        lambda: serving_pid(second, net_id) and
        (ports := split.api.dhcp_ports(net_id)) and len(ports) == 1 and
        ports[0]['binding:host_id'] == second.host and ports[0],
        4 * AGENT_DOWN_TIME, f'{second.host} serves with the DHCP port',
        interval=0.05)
    took = time.monotonic() - killed
    print(f'network served again {took:.1f}s after its node was killed '
          f'(agent_down_time {AGENT_DOWN_TIME}s)')
    assert took < 2 * AGENT_DOWN_TIME, took
    assert server_of(after) == server_of(before)
    assert after['device_id'] == dhcp_device_id(second.host, net_id)
    assert [a['host'] for a in split.api.network_agents(net_id)] == \
        [second.host]

    lease = renew(split, guest)
    assert_renewed_from(guest, lease, port_ip(port), server)


def test_admin_move_leaves_a_reserved_port_the_next_agent_takes_over(
        split: Split, guests: list[Guest]) -> None:
    api = split.start_server(dhcp_agents_per_network=1)
    net_id, first, second = network_on_one(split, '10.87.0.0/24')
    port = api.ready_port(net_id)
    guest = boot(split, guests, port)
    before = the_dhcp_port(split, net_id, dhcp_device_id(first.host, net_id))

    api.remove_network_from_agent(api.agent(first.host)['id'], net_id)
    split.wait(lambda: first.namespace(net_id) not in namespaces() and
               serving_pid(first, net_id) is None, 10,
               f'{first.host} stopped serving')
    reserved = the_dhcp_port(split, net_id, DEVICE_ID_RESERVED_DHCP_PORT)
    assert server_of(reserved) == server_of(before)
    assert reserved['device_owner'] == 'network:dhcp'

    api.add_network_to_agent(api.agent(second.host)['id'], net_id)
    split.wait(lambda: serving_pid(second, net_id), 15,
               f'{second.host} serves')
    after = the_dhcp_port(split, net_id, dhcp_device_id(second.host, net_id))
    assert server_of(after) == server_of(before)
    assert after['binding:host_id'] == second.host

    lease = renew(split, guest)
    assert_renewed_from(guest, lease, port_ip(port), port_ip(before))
