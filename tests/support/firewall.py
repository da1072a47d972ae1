"""A host with VMs behind kaon's firewall, for the data-plane tests.

The "server" is a SecurityGroupServerApi over dicts that answers in the
shape Neutron 29's security_group_info_for_devices has (kaon.wire: the
ports asked for by tap name keyed by id, fixed_ips as strings; their
groups' rules with `stateful` and the remote prefix as source_ip_prefix /
dest_ip_prefix; the members of every remote group a rule names, per
ethertype those rules use, [ip, None] for fixed IPs and [ip, mac] for
address pairs): test data, not a stand-in for what is verified.
tests/functional/test_sg_rpc.py checks kaon's server gives that shape.
The VMs are real namespaces on a real bridge through real veths; the
firewall is the real nftables driver in a table of the test's own; the
traffic is busybox ping, nc and udhcpd/udhcpc.
"""
from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
import uuid

from kaon import naming
from kaon.agent.firewall.agent import FirewallAgent
from kaon.agent.firewall.nftables import NftablesDriver
from kaon.agent.linux import ip_lib
from kaon.wire import (
    MemberPair,
    SecurityGroupInfo,
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)
from tests.support.agent import wait_for

BRIDGE_PREFIX = 'ktfw'
NS_PREFIX = 'kt-fw-'


class FakeServer:
    """What the server knows: ports, groups' rules."""

    def __init__(self) -> None:
        self.ports: dict[str, SecurityGroupPort] = {}
        self.rules: dict[str, list[SecurityGroupRule]] = {}
        self.calls = 0

    def security_group_info_for_devices(self, devices: list[str]
                                        ) -> SecurityGroupInfo:
        self.calls += 1
        by_tap = {naming.tap(p['id']): p for p in self.ports.values()}
        found: dict[str, SecurityGroupPort] = {}
        for device in devices:
            if device in by_tap:
                port = found[by_tap[device]['id']] = by_tap[device].copy()
                port['device'] = device
        groups = {sg for p in found.values()
                  for sg in p.get('security_groups', [])}
        info: SecurityGroupInfo = {
            'devices': found,
            'security_groups': {sg: [{'stateful': True, **r}
                                     for r in self.rules.get(sg, [])]
                                for sg in groups},
            'sg_member_ips': {}}
        for sg in groups:
            for rule in self.rules.get(sg, []):
                remote = rule.get('remote_group_id')
                if remote is not None:
                    info['sg_member_ips'][remote] = self.members(
                        remote, {r['ethertype'] for r in self.rules[sg]
                                 if r.get('remote_group_id') == remote})
        return info

    def members(self, sg: str, ethertypes: set[str]
                ) -> SecurityGroupMembers:
        found: dict[str, list[MemberPair]] = {e: [] for e in ethertypes}
        for port in self.ports.values():
            if sg not in port.get('security_groups', []):
                continue
            pairs: list[MemberPair] = [[ip, None] for ip in port['fixed_ips']]
            pairs += [[p['ip_address'], p.get('mac_address',
                                              port['mac_address'])]
                      for p in port.get('allowed_address_pairs', [])]
            for pair in pairs:
                kind = 'IPv6' if ':' in str(pair[0]) else 'IPv4'
                if kind in found:
                    found[kind].append(pair)
        members = SecurityGroupMembers()
        if 'IPv4' in found:
            members['IPv4'] = found['IPv4']
        if 'IPv6' in found:
            members['IPv6'] = found['IPv6']
        return members


class Vm:
    """A namespace whose eth0 is a veth on the host's bridge."""

    def __init__(self, host: Host, name: str, ip: str, ip6: str,
                 mac: str) -> None:
        self.host = host
        self.namespace = NS_PREFIX + host.run + '-' + name
        self.ip, self.ip6, self.mac = ip, ip6, mac
        port_id = str(uuid.uuid4())
        self.port: SecurityGroupPort = {
            'id': port_id, 'network_id': host.network_id,
            'device': naming.tap(port_id), 'mac_address': mac,
            'fixed_ips': [ip, ip6],
            'security_groups': [], 'allowed_address_pairs': [],
            'port_security_enabled': True, 'security_group_rules': [],
            'security_group_source_groups': [],
            'security_group_remote_address_groups': []}
        host.namespaces.append(self.namespace)
        ip_lib.plug_veth(self.namespace, 'eth0', naming.tap(self.port['id']),
                         host.bridge, mac, 1500, [f'{ip}/24', f'{ip6}/64'])

    def sh(self, *argv: str, timeout: float = 15
           ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(['ip', 'netns', 'exec', self.namespace, *argv],
                              capture_output=True, text=True,
                              timeout=timeout)

    def pings(self, other: Vm | str, source: str | None = None) -> bool:
        """Does one echo request get its reply (within a second)?"""
        target = other if isinstance(other, str) else other.ip
        extra = ['-I', source] if source else []
        return self.sh('busybox', 'ping', '-c', '1', '-W', '1', *extra,
                       target).returncode == 0

    def popen(self, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.namespace, *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self.host.procs.append(proc)
        return proc


class Stream:
    """A TCP connection through the firewall: a busybox nc listening in
    one VM, a busybox nc connected from another; lines written by the
    client are read at the server."""

    def __init__(self, client: Vm, server: Vm, port: int) -> None:
        self.server = server.popen('busybox', 'nc', '-l', '-p', str(port))
        wait_listening(server, port)
        self.client = client.popen('busybox', 'nc', '-w', '2', server.ip,
                                   str(port))

    def send(self, line: str) -> None:
        assert self.client.stdin is not None
        self.client.stdin.write(line.encode() + b'\n')
        self.client.stdin.flush()

    def received(self, line: str, within: float) -> bool:
        """Has the server printed `line` within `within` seconds?"""
        assert self.server.stdout is not None
        deadline = time.monotonic() + within
        seen = b''
        while line.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.server.stdout], [], [],
                                              left)[0]:
                return False
            chunk = os.read(self.server.stdout.fileno(), 4096)
            if not chunk:
                return False
            seen += chunk
        return True


def wait_listening(vm: Vm, port: int, timeout: float = 5) -> None:
    """busybox nc says nothing when it listens: the socket table does."""
    tables = ('/proc/net/tcp', '/proc/net/tcp6')
    wait_for(lambda: f':{port:04X} ' in vm.sh('cat', *tables).stdout,
             timeout, f'something listening on {port}', interval=0.02)


def connects(client: Vm, server: Vm, port: int) -> bool:
    """Does a TCP connection from client to server:port carry a line?"""
    stream = Stream(client, server, port)
    stream.send('hello')
    ok = stream.received('hello', within=2)
    for proc in (stream.client, stream.server):
        proc.kill()
        proc.wait()
    return ok


class Host:
    """One bridge (one network), its VMs, the firewall driver and agent,
    all removed by close()."""

    def __init__(self, subnet: str) -> None:
        self.run = uuid.uuid4().hex[:6]
        self.subnet = subnet             # 'a.b.c' of a.b.c.0/24
        self.network_id = str(uuid.uuid4())
        self.bridge = naming.bridge(BRIDGE_PREFIX, self.network_id)
        self.table = f'kt_fw_{self.run}'
        self.server = FakeServer()
        self.vms: list[Vm] = []
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.tmp = tempfile.mkdtemp(prefix='kt-fw-')
        self.driver = NftablesDriver(bridge_prefix=BRIDGE_PREFIX,
                                     table=self.table)
        self.agent = FirewallAgent(self.server, self.driver,
                                   bridge_prefix=BRIDGE_PREFIX)

    def vm(self, name: str, last_octet: int, groups: list[str]) -> Vm:
        third = self.subnet.rsplit('.', 1)[1]
        vm = Vm(self, name, f'{self.subnet}.{last_octet}',
                f'fd00:251:{third}::{last_octet}',
                f'fa:16:3e:00:{len(self.vms):02x}:{last_octet:02x}')
        vm.port['security_groups'] = groups
        self.server.ports[vm.port['id']] = vm.port
        self.vms.append(vm)
        return vm

    def names(self) -> set[tuple[str, str]]:
        return ({('netns', name) for name in self.namespaces}
                | {('link', self.bridge)})

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
        for name in self.namespaces:
            ip_lib.delete_namespace(name)
        ip_lib.delete_device(self.bridge)
        self.driver.remove_all()
        subprocess.run(['rm', '-rf', self.tmp], check=False)
