"""End-to-end data-plane fixtures: real dnsmasq, namespaces, veth, bridges.

These tests need root and the Debian packages of the data plane (dnsmasq,
dnsmasq-utils, iproute2, busybox); without them they fail, not skip:
a machine that cannot run them must not pass for one that does.  Every
name they create carries a test prefix (namespaces `kt-qdhcp-`/`kt-vm-`,
bridges `ktbr`, VM veths `ktv`), and teardown removes everything a test
made, also when it failed; the session ends by checking nothing is left.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import uuid
from typing import Iterable, Iterator

import pytest
from oslo_config import cfg

from kaon import conf as kaon_conf
from kaon.agent.linux import device_manager as dm, ip_lib, process
from kaon.agent.linux.dnsmasq import Dnsmasq
from kaon.agent.linux.dnsmasq_backend import DnsmasqBackend
from tests.support.dhcp_rpc import Cloud, InProcessDhcpRpc
from tests.support.rabbitmq import RabbitMQ
from tests.support.vm import Vm, Vms

NS_PREFIX = 'kt-qdhcp-'
BRIDGE_PREFIX = 'ktbr'
STATE_PREFIX = 'kt-state-'
RUN = uuid.uuid4().hex[:6]          # this pytest run's state dirs
TOOLS = ('dnsmasq', 'dhcp_release', 'busybox', 'ip', 'iptables')


def pytest_configure(config: pytest.Config) -> None:
    # pyroute2 forks to open sockets in namespaces; eventlet (imported by
    # oslo.messaging, unused by kaon) warns on every fork.
    config.addinivalue_line(
        'filterwarnings', 'ignore:Using fork:DeprecationWarning')


def _missing() -> str | None:
    if os.geteuid() != 0:
        return 'needs root'
    absent = [t for t in TOOLS if shutil.which(t) is None]
    return f'missing {", ".join(absent)}' if absent else None


def make_conf(state_path: str) -> cfg.ConfigOpts:
    """The agent's options, private to one test, with test prefixes."""
    conf = cfg.ConfigOpts()
    conf.register_opts(kaon_conf.core_opts + kaon_conf.dhcp_agent_opts)
    conf(args=[], default_config_files=[])
    for name, value in {'state_path': state_path,
                        'host': f'kt-host-{uuid.uuid4().hex[:6]}',
                        'dhcp_namespace_prefix': NS_PREFIX,
                        'bridge_prefix': BRIDGE_PREFIX,
                        'dhcp_lease_duration': 600,
                        'bulk_reload_interval': 0.5,
                        'check_child_processes_interval': 1}.items():
        conf.set_override(name, value)
    return conf


def _our_dnsmasqs(marker: str) -> list[int]:
    """dnsmasq processes whose command line names `marker` (a state dir)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            argv = process.read_cmdline(int(entry))
            if argv and os.path.basename(argv[0]) == 'dnsmasq' and \
                    any(marker in a for a in argv):
                pids.append(int(entry))
    return pids


# Everything any test of this run made: checked at the end of the session.
# Names are unique per run (network UUIDs, random VM names), and cleanup
# touches only these, so two runs on one machine do not break each other.
MADE: set[tuple[str, str]] = set()


def cleanup(state_dir: str, namespaces: Iterable[str] = (),
            links: Iterable[str] = ()) -> set[tuple[str, str]]:
    """Remove what a test made under `state_dir`, and only that: kill the
    dnsmasqs whose command line names it, delete the namespace and bridge
    of every network it has DHCP files for, and `namespaces`, `links`.
    Returns what it deleted (kind, name), for a leftover check."""
    for pid in _our_dnsmasqs(state_dir):
        os.kill(pid, signal.SIGKILL)
        process._wait_gone(pid, 5)
    confs = os.path.join(state_dir, 'dhcp')
    networks = os.listdir(confs) if os.path.isdir(confs) else []
    made = {('netns', NS_PREFIX + n) for n in networks}
    made |= {('link', BRIDGE_PREFIX + n[:11]) for n in networks}
    made |= {('netns', n) for n in namespaces}
    made |= {('link', n) for n in links}
    for kind, name in sorted(made):
        if kind == 'netns':
            ip_lib.delete_namespace(name)
    for kind, name in sorted(made):
        if kind == 'link':
            ip_lib.delete_device(name)
    return made


def leftovers(made: set[tuple[str, str]], marker: str) -> list[str]:
    present = {('netns', n) for n in ip_lib.list_namespaces()}
    present |= {('link', n) for n in ip_lib.list_devices()}
    found = sorted(f'{kind} {name}' for kind, name in made & present)
    return found + [f'dnsmasq pid {p}' for p in _our_dnsmasqs(marker)]


@pytest.fixture(scope='session', autouse=True)
def data_plane() -> Iterator[None]:
    reason = _missing()
    if reason:
        pytest.fail(f'e2e data-plane tests: {reason} (run ./dev setup as '
                    'root)')
    yield
    assert not leftovers(MADE, STATE_PREFIX + RUN), leftovers(
        MADE, STATE_PREFIX + RUN)


class Agent:
    """What a DHCP agent holds, minus the agent: conf, the plugin behind
    an RPC stand-in, a process monitor, the dnsmasq backend (whose `host`
    counts reloads); and VMs to test with."""

    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.conf = make_conf(state_path)
        self.cloud = Cloud(state_path)
        self.rpc = InProcessDhcpRpc(self.cloud, self.conf.host)
        self.monitor = process.ProcessMonitor(self.conf)
        self.dhcp = DnsmasqBackend(self.conf, self.monitor,
                                   dm.DeviceManager(self.conf, self.rpc))
        self.vms = Vms()

    def network(self, cidr: str, **subnet: object) -> tuple[dict, dict]:
        net = self.cloud.create('network', name='kt')
        sub = self.cloud.create('subnet', network_id=net['id'], cidr=cidr,
                                ip_version=6 if ':' in cidr else 4,
                                **subnet)
        return net, sub

    def port(self, network_id: str, **body: object) -> dict:
        return self.cloud.create('port', network_id=network_id, **body)

    def info(self, network_id: str) -> dict:
        return self.rpc.get_network_info(network_id)

    def driver(self, network_id: str) -> Dnsmasq:
        """A new driver object on fresh network info, as the agent builds
        one per call."""
        return self.dhcp.driver(self.info(network_id))

    def sighups(self, network_id: str) -> int:
        """SIGHUPs this agent's drivers sent the network's dnsmasq."""
        return self.dhcp.host.sighups[network_id]

    def restarts(self, network_id: str) -> int:
        """Reloads that restarted it instead (see Reloads)."""
        return self.dhcp.host.restarts[network_id]

    def bridge(self, network_id: str) -> str:
        return dm.bridge_name(self.conf, network_id)

    def vm(self, port: dict) -> Vm:
        return self.vms(self.bridge(port['network_id']), port['mac_address'])

    def close(self) -> None:
        self.monitor.stop()
        self.vms.destroy_all()
        for network_id in self.dhcp.existing_dhcp_networks():
            try:
                self.dhcp.driver({'id': network_id, 'subnets': [], 'ports': [],
                                  'admin_state_up': False, 'mtu': 0,
                                  'project_id': ''}).disable(retain_port=True)
            except Exception:       # cleanup() below gets the rest
                pass
        networks = [n['id'] for n in self.cloud.list('network')]
        made = cleanup(
            self.state_path,
            [dm.namespace_name(self.conf, n) for n in networks] +
            [vm.namespace for vm in self.vms.made],
            [dm.bridge_name(self.conf, n) for n in networks] +
            [vm.veth for vm in self.vms.made])
        MADE.update(made)
        left = leftovers(made, self.state_path)
        assert not left, left


@contextlib.contextmanager
def agent_under(top: str, state: str) -> Iterator[Agent]:
    """An Agent on `state`; closed, and `top` (state or a parent of it)
    removed, also on failure."""
    env = Agent(state)
    try:
        yield env
    finally:
        try:
            env.close()
        finally:
            shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def agent() -> Iterator[Agent]:
    state = tempfile.mkdtemp(prefix=f'{STATE_PREFIX}{RUN}-')
    with agent_under(state, state) as env:
        yield env


@pytest.fixture(scope='module')
def rabbit() -> Iterator[RabbitMQ]:
    """A private RabbitMQ node for the module's tests."""
    with RabbitMQ() as node:
        yield node
