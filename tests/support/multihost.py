"""Several kaon hosts on this one machine, for tests and the benchmark.

    with Cluster(dhcp_agents_per_network=2) as cloud:
        net1 = cloud.add_host('net1', network_node=True)
        cmp1 = cloud.add_host('cmp1')
        network, subnet = cloud.api.network('10.61.0.0/24')
        vm = cmp1.boot('web', network['id'])
        cmp1.ping(vm, '10.61.0.5')

The root namespace holds what an operator runs once: a private PostgreSQL
(loopback), a private RabbitMQ (AMQP on loopback and on the underlay
bridge's address) and one `kaon server` (api_workers > 1, its API on the
underlay address, tenant_network_types = vxlan).  Each host is a namespace
on the underlay (tests/support/underlay.py) with a config file of its own
(host, state_path, the prefixes of the namespaces it makes, [vxlan]
local_ip = its underlay address, transport_url through the underlay) and
its processes, entered with nsenter: `kaon l2-agent`, and on network
nodes `kaon dhcp-agent`; VMs are booted with `kaon vm boot --host` run
inside the host.  Everything is removed on close(), also on failure.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from typing import Any, Callable, NamedTuple

from pyroute2 import IPRoute

from tests.support.agent import wait_for
from tests.support.api import Api
from tests.support.postgres import PostgresInstance
from tests.support.rabbitmq import RabbitMQ
from tests.support.server import KaonServer
from tests.support.underlay import HostNs, Underlay, kill_processes_in, nsenter

STATE_PREFIX = 'kt-mh-'
AGENT_DOWN_TIME = 6
REGISTER_TIMEOUT = 30
AF_BRIDGE = 7
VXLAN_PREFIX = 'vxlan-'


class FdbEntry(NamedTuple):
    device: str
    mac: str
    dst: str | None             # a VXLAN entry's remote host
    bridge: str | None          # a bridge's (learned or static) entry


def config_text(sections: dict[str, dict[str, Any]]) -> str:
    return ''.join(f'[{name}]\n' + ''.join(f'{k} = {v}\n'
                                           for k, v in values.items())
                   for name, values in sections.items())


class Host:
    """One host: its namespace, config file, state, agents and VMs."""

    def __init__(self, ns: HostNs, cluster: 'Cluster',
                 network_node: bool) -> None:
        self.ns = ns
        self.name = ns.name
        self.address = ns.address
        self.network_node = network_node
        self.api_url = cluster.server_url
        self.state = tempfile.mkdtemp(prefix=f'{STATE_PREFIX}{ns.name}-')
        self.config = os.path.join(self.state, 'kaon.conf')
        self.dhcp_prefix = f'{ns.prefix}qdhcp-'
        self.vm_prefix = f'{ns.prefix}vm-'
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        with open(self.config, 'w') as f:
            f.write(config_text(cluster.host_sections(self)))

    # -- processes -------------------------------------------------------
    def kaon_argv(self, *args: str) -> list[str]:
        return [sys.executable, '-m', 'kaon.cli.main', '--config-file',
                self.config, *args]

    def kaon(self, *args: str, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
        """A `kaon` command run inside this host, on its config."""
        return self.ns.run(*self.kaon_argv(*args), timeout=timeout)

    def log_path(self, binary: str) -> str:
        return os.path.join(self.state, f'{binary}.log')

    def start(self, binary: str) -> None:
        """Start `kaon <binary>` (l2-agent, dhcp-agent) in the host."""
        assert binary not in self.agents or \
            self.agents[binary].poll() is not None, binary
        with open(self.log_path(binary), 'a') as log:
            self.agents[binary] = subprocess.Popen(
                self.ns.cmd(*self.kaon_argv(binary)), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def binaries(self) -> list[str]:
        return ['l2-agent'] + (['dhcp-agent'] if self.network_node else [])

    def start_agents(self) -> None:
        for binary in self.binaries():
            self.start(binary)

    def kill(self, binary: str) -> None:
        proc = self.agents.get(binary)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def kill_agents(self) -> None:
        """What a host failure does to it: SIGKILL its agents and their
        dnsmasqs (the processes in its DHCP namespaces)."""
        for binary in list(self.agents):
            self.kill(binary)
        kill_processes_in([n for n in self.ns.made_namespaces()
                           if n.startswith(self.dhcp_prefix)])

    def logs(self, tail: int = 3000) -> str:
        text = ''
        for binary in self.agents:
            try:
                with open(self.log_path(binary), errors='replace') as f:
                    text += f'--- {self.name} {binary}\n{f.read()[-tail:]}\n'
            except OSError:
                pass
        return text

    # -- VMs ---------------------------------------------------------------
    def boot(self, name: str, network: str, *extra: str) -> dict[str, Any]:
        """`kaon vm boot NAME --network N --host <this host>` in the host;
        the VM as `-f json` shows it."""
        result = self.kaon('vm', 'boot', name, '--network', network,
                           '--host', self.name, '--os-url', self.api_url,
                           '-f', 'json', *extra)
        if result.returncode != 0:
            raise AssertionError(f'boot {name} on {self.name}: '
                                 f'{result.stderr}\n{self.logs()}')
        vm: dict[str, Any] = json.loads(result.stdout)[0]
        return vm

    def delete_vm(self, name: str) -> None:
        result = self.kaon('vm', 'delete', name, '--os-url', self.api_url)
        assert result.returncode == 0, result.stderr

    def vm_namespace(self, name: str) -> str:
        return self.vm_prefix + name

    def vm_dir(self, name: str) -> str:
        return os.path.join(self.state, 'vms', name)

    def in_vm(self, name: str, *argv: str, timeout: float = 30
              ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the VM (its namespace)."""
        return subprocess.run(nsenter(self.vm_namespace(name)) + list(argv),
                              capture_output=True, text=True,
                              timeout=timeout)

    def ping(self, name: str, ip: str, count: int = 1,
             wait: float = 1) -> bool:
        return self.in_vm(name, 'busybox', 'ping', '-c', str(count), '-W',
                          str(wait), ip).returncode == 0

    def vm_addresses(self, name: str) -> list[str]:
        """The IPv4 addresses the VM's eth0 holds (without prefix)."""
        out = self.in_vm(name, 'ip', '-4', '-o', 'addr', 'show', 'eth0')
        return [line.split()[3].split('/')[0]
                for line in out.stdout.splitlines()]

    def console(self, name: str) -> str:
        try:
            with open(os.path.join(self.vm_dir(name), 'console.log'),
                      errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def lease(self, name: str) -> dict[str, Any] | None:
        try:
            with open(os.path.join(self.vm_dir(name), 'lease.json')) as f:
                lease: dict[str, Any] = json.load(f)
                return lease
        except (OSError, ValueError):
            return None

    def renew(self, name: str) -> None:
        """SIGUSR1 to the VM's udhcpc: renew the lease now."""
        with open(os.path.join(self.vm_dir(name), 'udhcpc.pid')) as f:
            os.kill(int(f.read().strip()), signal.SIGUSR1)

    # -- the kernel's view -------------------------------------------------
    def fdb(self) -> list[FdbEntry]:
        """The host's forwarding database (`bridge fdb show`), read
        through netlink inside its namespace."""
        with IPRoute(netns=self.ns.namespace) as ipr:
            names = {link['index']: link.get('ifname')
                     for link in ipr.get_links()}
            return [FdbEntry(names.get(e['ifindex'], ''),
                             e.get('NDA_LLADDR'), e.get('NDA_DST'),
                             names.get(e.get('NDA_MASTER')))
                    for e in ipr.get_neighbours(family=AF_BRIDGE)]

    def vxlan_fdb(self) -> dict[str, set[tuple[str, str]]]:
        """What l2population wrote: per VXLAN device, its (MAC, remote
        host address) entries."""
        found: dict[str, set[tuple[str, str]]] = {
            n: set() for n in self.links() if n.startswith(VXLAN_PREFIX)}
        for entry in self.fdb():
            if entry.device in found and entry.dst:
                found[entry.device].add((entry.mac, entry.dst))
        return found

    def learned(self, bridge: str) -> set[str]:
        """MACs bridge `bridge` has seen frames from."""
        return {e.mac for e in self.fdb() if e.bridge == bridge}

    def links(self) -> set[str]:
        with IPRoute(netns=self.ns.namespace) as ipr:
            return {link.get('ifname') for link in ipr.get_links()}

    def close(self) -> None:
        for binary in list(self.agents):
            self.kill(binary)
        shutil.rmtree(self.state, ignore_errors=True)


class Cluster:
    """PostgreSQL, RabbitMQ, one kaon server and the hosts."""

    def __init__(self, dhcp_agents_per_network: int = 1,
                 agent_down_time: int = AGENT_DOWN_TIME, workers: int = 2,
                 host_options: dict[str, Any] | None = None) -> None:
        self.tag = uuid.uuid4().hex[:4]
        self.underlay = Underlay()
        self.dhcp_agents_per_network = dhcp_agents_per_network
        self.agent_down_time = agent_down_time
        self.workers = workers
        self.host_options = host_options or {}
        self.postgres: PostgresInstance | None = None
        self.rabbit: RabbitMQ | None = None
        self.server: KaonServer | None = None
        self.hosts: dict[str, Host] = {}
        self._api: Api | None = None

    @property
    def api(self) -> Api:
        assert self._api is not None, 'start() first'
        return self._api

    @property
    def server_url(self) -> str:
        assert self.server is not None
        return self.server.url

    def server_sections(self) -> dict[str, dict[str, Any]]:
        return {'ml2': {'tenant_network_types': 'vxlan'},
                'ml2_type_vxlan': {'vni_ranges': '1:1000'}}

    def host_sections(self, host: Host) -> dict[str, dict[str, Any]]:
        """One host's config file: all it needs to join the cloud."""
        assert self.rabbit is not None
        return {'DEFAULT': {
            'host': host.name, 'state_path': host.state,
            'transport_url': self.rabbit.url_on(self.underlay.gateway),
            'report_interval': 1, 'check_child_processes_interval': 1,
            'dhcp_namespace_prefix': host.dhcp_prefix,
            'vm_namespace_prefix': host.vm_prefix,
            'dhcp_lease_duration': 600, 'bulk_reload_interval': 0.5,
            'vm_boot_timeout': 30, **self.host_options},
            'vxlan': {'local_ip': host.address, 'l2_population': 'true'}}

    def start(self) -> 'Cluster':
        self.underlay.start()
        self.postgres = PostgresInstance().start()
        self.rabbit = RabbitMQ(addresses=(self.underlay.gateway,)).start()
        self.server = KaonServer(
            db_url=self.postgres.url, workers=self.workers,
            bind_host=self.underlay.gateway,
            options={'transport_url': self.rabbit.url,
                     'host': f'kt-server-{self.tag}',
                     'agent_down_time': self.agent_down_time,
                     'dhcp_agents_per_network':
                         self.dhcp_agents_per_network},
            quotas={'port': -1, 'network': -1, 'subnet': -1},
            sections=self.server_sections())
        self.server.start()
        self._api = Api(self.server.url)
        return self

    def add_host(self, name: str, network_node: bool = False,
                 agents: bool = True) -> Host:
        """A new host; with `agents`, its agents started and alive."""
        host = Host(self.underlay.add_host(f'{name}-{self.tag}'), self,
                    network_node)
        self.hosts[name] = host
        if agents:
            host.start_agents()
            self.wait_alive(host)
        return host

    def wait_alive(self, host: Host) -> None:
        wanted = len(host.binaries())
        self.wait(lambda: len([a for a in self.api.agents()
                               if a['host'] == host.name and a['alive']])
                  == wanted, REGISTER_TIMEOUT,
                  f'the agents of {host.name} alive')

    def logs(self) -> str:
        text = ''.join(h.logs() for h in self.hosts.values())
        if self.server is not None:
            text += f'--- server\n{self.server.log()[-4000:]}'
        return text

    def wait(self, predicate: Callable[[], Any], timeout: float,
             what: str | Callable[[], str], interval: float = 0.2) -> Any:
        """wait_for, failing with what (a callable: what it says then)
        and every process's log."""
        try:
            return wait_for(predicate, timeout, '', interval)
        except AssertionError as err:
            said = what() if callable(what) else what
            raise AssertionError(f'{err}{said}\n{self.logs()}') from None

    def close(self) -> list[str]:
        """Stop and remove everything; what is left (should be [])."""
        try:
            for host in self.hosts.values():
                host.close()
            if self.server is not None:
                self.server.stop()
                self.server.remove_state()
        finally:
            try:
                left = self.underlay.close()
            finally:
                for part in (self.rabbit, self.postgres):
                    if part is not None:
                        part.close()
        return left

    def __enter__(self) -> 'Cluster':
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        left = self.close()
        assert not left, f'left behind: {left}'
