"""Test "hosts" on one machine: network namespaces on a shared underlay.

A host is a network namespace `kt-h<name>` with lo up and one NIC (`ul0`,
a veth) whose other end is a port of the root namespace's underlay bridge
`kt-ul<i>`; the bridge holds 10.254.<n>.1/24 and host k holds
10.254.<n>.<k>, in a /24 no route of this machine covers.  Whatever a
host's processes make (bridges, VXLAN devices, taps) is inside its
namespace, so traffic between two hosts' VMs really crosses the underlay
in VXLAN packets.  The DHCP and VM namespaces a host's agents create are
global (/run/netns) and carry the host's own prefix (`kt-<name>-`), so
close() finds and removes them too.

Processes are entered into a host with `nsenter --net=/run/netns/<ns>`,
not `ip netns exec`: the latter also gives the process a mount namespace
of its own, where the namespaces it creates under /run/netns would be
invisible to everyone else.

close() SIGKILLs every process living in one of these namespaces (found by
the namespace's inode in /proc/<pid>/ns/net: agents, dnsmasqs, udhcpcs),
then removes the namespaces, /etc/netns/<ns> directories, veths and the
bridge; also when a test failed.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
import signal
import subprocess
import time

from pyroute2 import IPRoute

from kaon.agent.linux import ip_lib

UNDERLAY = ipaddress.ip_network('10.254.0.0/16')
BRIDGE_PREFIX = 'kt-ul'
NS_PREFIX = 'kt-h'
NIC = 'ul0'                     # a host's underlay NIC, inside its namespace
NETNS_DIR = '/run/netns'
ETC_NETNS = '/etc/netns'


def nsenter(namespace: str) -> list[str]:
    """The command prefix that runs a program in `namespace` (network
    only; mounts, /run/netns included, stay the machine's)."""
    return ['nsenter', f'--net={os.path.join(NETNS_DIR, namespace)}', '--']


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network a route or an address of the root namespace
    covers (`ip -4 route` and the addresses, through netlink)."""
    with IPRoute() as ipr:
        found = [ipaddress.ip_network(
            f"{r.get('RTA_DST')}/{r['dst_len']}", strict=False)
            for r in ipr.get_routes(family=2) if r.get('RTA_DST')]
        found += [ipaddress.ip_interface(
            f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}").network
            for a in ipr.get_addr(family=2)]
    return [n for n in found if isinstance(n, ipaddress.IPv4Network)]


def free_subnet() -> ipaddress.IPv4Network:
    """The first 10.254.<n>.0/24 that nothing here routes or holds."""
    used = [n for n in _used_networks() if n.prefixlen > 0]
    for subnet in UNDERLAY.subnets(new_prefix=24):
        if subnet.network_address.packed[2] == 0:
            continue
        if not any(subnet.overlaps(n) for n in used):
            return subnet
    raise RuntimeError(f'no free /24 in {UNDERLAY}')


def _free_bridge() -> str:
    present = set(ip_lib.list_devices())
    for i in range(100):
        if f'{BRIDGE_PREFIX}{i}' not in present:
            return f'{BRIDGE_PREFIX}{i}'
    raise RuntimeError('no free kt-ul<i> bridge name')


def _namespace_inode(namespace: str) -> int | None:
    try:
        return os.stat(os.path.join(NETNS_DIR, namespace)).st_ino
    except OSError:
        return None


def processes_in(namespaces: list[str]) -> list[int]:
    """Pids (not ours) whose network namespace is one of `namespaces`."""
    inodes = {f'net:[{i}]' for i in map(_namespace_inode, namespaces)
              if i is not None}
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.readlink(f'/proc/{entry}/ns/net') in inodes:
                found.append(int(entry))
        except OSError:
            continue
    return found


def kill_processes_in(namespaces: list[str], timeout: float = 5) -> None:
    """SIGKILL everything living in `namespaces` and wait until it is
    gone (a namespace with a process left in it outlives its removal)."""
    for pid in processes_in(namespaces):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while processes_in(namespaces) and time.monotonic() < deadline:
        time.sleep(0.05)


@dataclasses.dataclass(frozen=True)
class HostNs:
    """One host's namespace and its underlay address."""
    name: str
    namespace: str
    address: str
    veth: str                   # the root namespace's end, on the bridge

    @property
    def prefix(self) -> str:
        """What every global name the host's processes make starts with
        (their DHCP and VM namespaces)."""
        return f'kt-{self.name}-'

    def made_namespaces(self) -> list[str]:
        return sorted(n for n in ip_lib.list_namespaces()
                      if n.startswith(self.prefix))

    def unplug(self) -> None:
        """Take the host off the underlay (its link on the bridge down):
        a host that failed as a whole."""
        with IPRoute() as ipr:
            ipr.link('set', index=ipr.link_lookup(ifname=self.veth)[0],
                     state='down')

    def cmd(self, *argv: str) -> list[str]:
        return nsenter(self.namespace) + list(argv)

    def run(self, *argv: str, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*argv), capture_output=True,
                              text=True, timeout=timeout)


class Underlay:
    """The bridge and the hosts on it; close() removes all of it."""

    def __init__(self) -> None:
        self.subnet = free_subnet()
        self.bridge = _free_bridge()
        self.gateway = str(self.subnet.network_address + 1)
        self.hosts: list[HostNs] = []
        self._started = False

    def start(self) -> 'Underlay':
        with IPRoute() as ipr:
            ipr.link('add', ifname=self.bridge, kind='bridge')
            self._started = True
            index = ipr.link_lookup(ifname=self.bridge)[0]
            ipr.addr('add', index=index, address=self.gateway,
                     prefixlen=self.subnet.prefixlen)
            ipr.link('set', index=index, state='up')
        return self

    def add_host(self, name: str) -> HostNs:
        """A new host namespace on the bridge, with the next address."""
        k = len(self.hosts) + 2
        host = HostNs(name=name, namespace=NS_PREFIX + name,
                      address=str(self.subnet.network_address + k),
                      veth=f'{self.bridge}h{k}')
        if ip_lib.namespace_exists(host.namespace):
            raise RuntimeError(f'{host.namespace} exists already')
        self.hosts.append(host)
        ip_lib.ensure_namespace(host.namespace)
        with IPRoute() as ipr:
            ipr.link('add', ifname=host.veth, kind='veth',
                     peer={'ifname': NIC, 'net_ns_fd': host.namespace})
            index = ipr.link_lookup(ifname=host.veth)[0]
            ipr.link('set', index=index, state='up',
                     master=ipr.link_lookup(ifname=self.bridge)[0])
        cidr = f'{host.address}/{self.subnet.prefixlen}'
        for argv in (('ip', 'addr', 'add', cidr, 'dev', NIC),
                     ('ip', 'link', 'set', NIC, 'up')):
            result = host.run(*argv)
            if result.returncode != 0:
                raise RuntimeError(f'{host.name}: {argv}: {result.stderr}')
        return host

    def namespaces(self) -> list[str]:
        """The hosts' namespaces and every namespace they made."""
        found = [h.namespace for h in self.hosts]
        for host in self.hosts:
            found += host.made_namespaces()
        return found

    def close(self) -> list[str]:
        """Remove everything; returns what is still there (should be [])."""
        namespaces = self.namespaces()
        kill_processes_in(namespaces)
        for namespace in namespaces:
            ip_lib.delete_namespace(namespace)
            shutil.rmtree(os.path.join(ETC_NETNS, namespace),
                          ignore_errors=True)
        for host in self.hosts:
            ip_lib.delete_device(host.veth)
        if self._started:
            ip_lib.delete_device(self.bridge)
        return self.leftovers()

    def leftovers(self) -> list[str]:
        present = set(ip_lib.list_namespaces())
        left = [f'netns {n}' for n in present
                if any(n == h.namespace or n.startswith(h.prefix)
                       for h in self.hosts)]
        links = set(ip_lib.list_devices())
        left += [f'link {n}' for n in [self.bridge] +
                 [h.veth for h in self.hosts] if n in links]
        if os.path.isdir(ETC_NETNS):
            left += [f'{ETC_NETNS}/{n}' for n in os.listdir(ETC_NETNS)
                     if any(n.startswith(h.prefix) for h in self.hosts)]
        return sorted(left)
