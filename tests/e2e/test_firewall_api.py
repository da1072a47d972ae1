"""Security groups enforced on the VMs kaon boots, driven through the
REST API: `kaon up` (API, RPC, DHCP agent and firewall agent in one
process), two VMs booted by kaon's compute on one network in different
groups, rules created and deleted with POST/DELETE
/v2.0/security-group-rules, traffic with busybox ping and nc between the
VMs' namespaces.

Everything carries test prefixes (tests.e2e.test_compute.Kaon: VM
namespaces, bridges, state dir; the nftables tables `kt_fw_<tag>`), and
is removed also when a test fails; the subnet 10.252.9.0/24 is on none
of this machine's routes.
"""
from __future__ import annotations

import subprocess
import uuid
from typing import Any, Iterator

import pytest

from tests.e2e.test_compute import Kaon, ns_ipv4, wait_for
from tests.support.firewall import Stream

pytestmark = pytest.mark.slow

CIDR, GATEWAY = '10.252.9.0/24', '10.252.9.1'
WAIT = 15.0        # bound on a rule change reaching the kernel


class Guest:
    """A VM kaon booted, as tests.support.firewall.Stream drives one."""

    def __init__(self, kaon: Kaon, name: str, port: dict[str, Any]) -> None:
        self.namespace = kaon.vm_prefix + name
        self.ip = port['fixed_ips'][0]['ip_address']
        self.procs: list[subprocess.Popen[bytes]] = []

    def sh(self, *argv: str, timeout: float = 15
           ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(['ip', 'netns', 'exec', self.namespace, *argv],
                              capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.namespace, *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def pings(self, other: Guest) -> bool:
        return self.sh('busybox', 'ping', '-c', '1', '-W', '1',
                       other.ip).returncode == 0

    def connects(self, other: Guest, port: int) -> bool:
        stream = Stream(self, other, port)  # type: ignore[arg-type]
        stream.send('hello')
        try:
            return stream.received('hello', within=2)
        finally:
            stop(stream)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def stop(stream: Stream) -> None:
    for proc in (stream.client, stream.server):
        proc.kill()
        proc.wait()


@pytest.fixture(scope='module')
def kaon() -> Iterator[Kaon]:
    installation = Kaon()
    table = f'kt_fw_{uuid.uuid4().hex[:6]}'
    with open(installation.conf, 'a') as f:
        f.write(f'firewall_table = {table}\nfirewall_poll_interval = 0.5\n')
    try:
        installation.ok('up', '--detach')
        yield installation
    finally:
        try:
            installation.destroy()
        finally:
            left = [family for family in ('bridge', 'inet') if subprocess.run(
                ['nft', 'list', 'table', family, table],
                capture_output=True).returncode == 0]
            for family in left:
                subprocess.run(['nft', 'delete', 'table', family, table])
            assert not left, f'kaon down left nftables table {table}'


def group(kaon: Kaon, name: str) -> dict[str, Any]:
    """A new group: Neutron gives it egress-to-anywhere rules only."""
    made: dict[str, Any] = kaon.api(
        'POST', 'security-groups', {'security_group': {'name': name}},
        expect=201)['security_group']
    return made


def rule(kaon: Kaon, group_id: str, **body: Any) -> str:
    made = kaon.api('POST', 'security-group-rules', {'security_group_rule': {
        'security_group_id': group_id, 'direction': 'ingress',
        'ethertype': 'IPv4', **body}}, expect=201)['security_group_rule']
    return str(made['id'])


def boot(kaon: Kaon, network: dict[str, Any], name: str,
         groups: list[str] | None) -> Guest:
    """A VM on a port of its own; groups None: the port gets the
    project's default group."""
    body: dict[str, Any] = {'network_id': network['id'], 'name': name}
    if groups is not None:
        body['security_groups'] = groups
    port = kaon.api('POST', 'ports', {'port': body}, expect=201)['port']
    kaon.taps.add('tap' + port['id'][:11])
    # Returns once the VM holds its DHCP lease (vm_boot_timeout).
    kaon.ok('vm', 'boot', name, '--network', network['id'],
            '--port', port['id'])
    guest = Guest(kaon, name, port)
    assert ns_ipv4(guest.namespace) == [guest.ip]
    return guest


@pytest.fixture(scope='module')
def vms(kaon: Kaon) -> Iterator[dict[str, Any]]:
    network, _ = kaon.network('kt-fw', CIDR, gateway_ip=GATEWAY)
    clients, servers = group(kaon, 'kt-clients'), group(kaon, 'kt-servers')
    made: dict[str, Any] = {'clients': clients['id'],
                            'servers': servers['id']}
    try:
        made['client'] = boot(kaon, network, 'client', [clients['id']])
        made['server'] = boot(kaon, network, 'server', [servers['id']])
        made['plain'] = boot(kaon, network, 'plain', None)
        yield made
    finally:
        for name in ('client', 'server', 'plain'):
            if name in made:
                made[name].close()
            kaon.run('vm', 'delete', name)


def test_vms_in_groups_get_leases_and_only_what_rules_allow(
        kaon: Kaon, vms: dict[str, Any]) -> None:
    """Booted (their leases held: DHCP passes the default group and groups
    without ingress rules), and nothing in: no group allows ingress from
    the other's members."""
    client, server, plain = vms['client'], vms['server'], vms['plain']
    wait_for(lambda: not client.pings(server), 'the servers group to '
             'drop pings', timeout=WAIT)
    assert not server.pings(client)
    assert not plain.pings(client) and not client.pings(plain)
    assert not client.connects(server, 5001)


def test_rules_added_open_and_removed_close(kaon: Kaon,
                                            vms: dict[str, Any]) -> None:
    client, server = vms['client'], vms['server']
    icmp = rule(kaon, vms['servers'], protocol='icmp',
                remote_group_id=vms['clients'])
    wait_for(lambda: client.pings(server), 'the icmp rule', timeout=WAIT)
    # One direction only: the clients group still has no ingress rule
    # (the replies to the client's pings pass: the group is stateful).
    assert not server.pings(client)
    tcp = rule(kaon, vms['servers'], protocol='tcp', port_range_min=5001,
               port_range_max=5001, remote_ip_prefix=CIDR)
    wait_for(lambda: client.connects(server, 5001), 'the tcp rule',
             timeout=WAIT)
    assert not client.connects(server, 5002)
    stream = Stream(client, server, 5001)  # type: ignore[arg-type]
    try:
        stream.send('before')
        assert stream.received('before', within=2)
        kaon.api('DELETE', f'security-group-rules/{tcp}', expect=204)

        def cut() -> bool:
            stream.send('after')
            return not stream.received('after', within=1)
        # The established flow is cut, as Neutron's conntrack clean-up.
        wait_for(cut, 'the established flow to be cut', timeout=WAIT)
    finally:
        stop(stream)
    assert not client.connects(server, 5001)
    kaon.api('DELETE', f'security-group-rules/{icmp}', expect=204)
    wait_for(lambda: not client.pings(server), 'the icmp rule gone',
             timeout=WAIT)


def test_failed_apply_is_reported(kaon: Kaon, vms: dict[str, Any]) -> None:
    """`kaon firewall-agent --status`: the running agent's ports, no
    error."""
    def healthy() -> str | None:
        result = kaon.run('firewall-agent', '--status')
        return result.stdout if result.returncode == 0 else None
    shown = wait_for(healthy, 'a healthy status', timeout=WAIT)
    assert 'last_error: None' in shown and 'ports: 3' in shown, shown
