"""Test "hosts" for the L2 agent: a network namespace with an underlay
address, a `kaon l2-agent` running inside it, and a stand-in for the
server's side of the wire (kaon.wire_l2) on a private RabbitMQ.

    with Underlay() as underlay, UnderlayRabbit(underlay.gateway) as rabbit:
        host = L2Host(underlay, rabbit.underlay_url).start()

The underlay is a root-namespace bridge `ktl2b<hex>` holding
10.254.<n>.1/24 (n picked among those no route here covers); each host
is a namespace `kt-l2h-<hex>` with a veth `ul0` on that bridge and
10.254.<n>.<k>.  RabbitMQ listens on 127.0.0.1 and on the bridge's
address, so agents inside the namespaces reach it over the underlay.
Agents run with `nsenter --net=/run/netns/<ns>` (not `ip netns exec`,
which would give them a mount namespace of their own).  Everything is
removed on exit, also on failure.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from typing import Any

import oslo_messaging

from kaon.agent.linux import ip_lib
from kaon.rpc import common
from kaon.wire_l2 import L2POP_TOPIC, DeviceDetails, FdbEntries
from tests.support.rabbitmq import RabbitMQ


def _ip(*args: str) -> None:
    subprocess.run(['ip', *args], check=True, capture_output=True,
                   timeout=30)


def _free_underlay() -> ipaddress.IPv4Network:
    routes = subprocess.run(['ip', '-4', 'route'], capture_output=True,
                            text=True, check=True).stdout
    taken = [ipaddress.ip_network(r.split()[0], strict=False)
             for r in routes.splitlines() if r[0].isdigit()]
    for n in range(200, 250):
        net = ipaddress.ip_network(f'10.254.{n}.0/24')
        if not any(net.overlaps(t) for t in taken):
            return net
    raise RuntimeError('no free 10.254.x.0/24 underlay')


class Underlay:
    """The shared L2 segment of the test hosts, in the root namespace."""

    def __init__(self) -> None:
        self.bridge = f'ktl2b{uuid.uuid4().hex[:6]}'
        self.network = _free_underlay()
        self.gateway = str(self.network[1])
        self._hosts = 1

    def address(self) -> str:
        """The next host's address (as a CIDR)."""
        self._hosts += 1
        return f'{self.network[self._hosts]}/{self.network.prefixlen}'

    def __enter__(self) -> Underlay:
        _ip('link', 'add', self.bridge, 'type', 'bridge')
        try:
            _ip('addr', 'add', f'{self.gateway}/24', 'dev', self.bridge)
            _ip('link', 'set', self.bridge, 'up')
        except BaseException:
            ip_lib.delete_device(self.bridge)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        ip_lib.delete_device(self.bridge)


class UnderlayRabbit(RabbitMQ):
    """A private RabbitMQ that also listens on the underlay's gateway."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def _prepare(self) -> None:
        super()._prepare()
        with open(self._path('rabbitmq.conf'), 'a') as f:
            f.write(f'listeners.tcp.2 = {self.address}:{self.port}\n')

    @property
    def underlay_url(self) -> str:
        return self.url.replace('127.0.0.1', self.address)


class L2Host:
    """A namespace on the underlay and a `kaon l2-agent` in it."""

    def __init__(self, underlay: Underlay, transport_url: str,
                 **sections: dict[str, Any]) -> None:
        tag = uuid.uuid4().hex[:6]
        self.namespace = f'kt-l2h-{tag}'
        self.host = self.namespace
        self.veth = f'ktl2v{tag}'
        cidr = underlay.address()
        self.local_ip = cidr.split('/')[0]
        self.state = tempfile.mkdtemp(prefix='kt-l2state-')
        self.config = os.path.join(self.state, 'kaon.conf')
        self.log_path = os.path.join(self.state, 'agent.log')
        self.proc: subprocess.Popen[bytes] | None = None
        values: dict[str, dict[str, Any]] = {
            'DEFAULT': {'host': self.host, 'state_path': self.state,
                        'transport_url': transport_url,
                        'report_interval': 1},
            'vxlan': {'local_ip': self.local_ip},
            'agent': {'polling_interval': 30}}
        for section, options in sections.items():
            values.setdefault(section, {}).update(options)
        with open(self.config, 'w') as f:
            for section, options in values.items():
                f.write(f'[{section}]\n' + ''.join(
                    f'{k} = {v}\n' for k, v in options.items()))
        _ip('netns', 'add', self.namespace)
        try:
            _ip('-n', self.namespace, 'link', 'set', 'lo', 'up')
            _ip('link', 'add', self.veth, 'type', 'veth', 'peer', 'name',
                'ul0', 'netns', self.namespace)
            _ip('link', 'set', self.veth, 'master', underlay.bridge, 'up')
            _ip('-n', self.namespace, 'addr', 'add', cidr, 'dev', 'ul0')
            _ip('-n', self.namespace, 'link', 'set', 'ul0', 'up')
        except BaseException:
            self.close()
            raise

    def ip(self, *args: str) -> None:
        """`ip` inside the host."""
        _ip('-n', self.namespace, *args)

    def start(self) -> L2Host:
        with open(self.log_path, 'a') as log:
            self.proc = subprocess.Popen(
                ['nsenter', f'--net=/run/netns/{self.namespace}',
                 sys.executable, '-m', 'kaon.cli.main', '--config-file',
                 self.config, 'l2-agent'], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def stop(self) -> None:
        """SIGTERM and wait (the agent stops cleanly)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('l2-agent ignored SIGTERM:\n' +
                                     self.log()) from None

    def status(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, '-m', 'kaon.cli.main', '--config-file',
             self.config, 'l2-agent', '--status'], capture_output=True,
            text=True, timeout=60)

    def log(self) -> str:
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-20000:]
        except OSError:
            return ''

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        ip_lib.delete_namespace(self.namespace)   # its devices go with it
        ip_lib.delete_device(self.veth)
        shutil.rmtree(self.state, ignore_errors=True)

    def __enter__(self) -> L2Host:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ServerStandIn:
    """The server's side of the L2 wire, on q-plugin and
    q-reports-plugin: answers device details from `ports` (tap -> its
    DeviceDetails; others are unknown: {'device': name}), records
    update_device_list and report_state, and -- as l2population does --
    answers a refresh_tunnels update with a cast of `full_table` to that
    host alone."""
    target = oslo_messaging.Target(version='1.9')

    def __init__(self) -> None:
        self.ports: dict[str, DeviceDetails] = {}
        self.full_table: FdbEntries = {}
        self.updates: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def get_devices_details_list_and_failed_devices(
            self, context: Any, devices: list[str], agent_id: str,
            host: str) -> dict[str, Any]:
        return {'devices': [self.ports.get(d, {'device': d})
                            for d in devices], 'failed_devices': []}

    def update_device_list(self, context: Any, devices_up: list[str],
                           devices_down: list[str], agent_id: str,
                           host: str, refresh_tunnels: bool = False
                           ) -> dict[str, Any]:
        if refresh_tunnels and self.full_table:
            cast_fdb('add_fdb_entries', self.full_table, host=host)
        self._record(self.updates, dict(
            devices_up=devices_up, devices_down=devices_down, host=host,
            refresh_tunnels=refresh_tunnels))
        return {'devices_up': devices_up, 'failed_devices_up': [],
                'devices_down': devices_down, 'failed_devices_down': []}

    def _record(self, into: list[dict[str, Any]],
                what: dict[str, Any]) -> None:
        with self.changed:
            into.append(what)
            self.changed.notify_all()

    def wait(self, what: str, predicate: Any, timeout: float = 20
             ) -> dict[str, Any]:
        """The first of `updates` or `reports` that `predicate` takes."""
        records = getattr(self, what)
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((r for r in records if predicate(r)), None),
                timeout)
        assert found, f'no such {what} within {timeout}s: {records}'
        return found


class ReportsStandIn:
    target = oslo_messaging.Target(version='1.4')

    def __init__(self, server: ServerStandIn) -> None:
        self.server = server

    def report_state(self, context: Any, agent_state: dict[str, Any],
                     time: str) -> str:
        self.server._record(self.server.reports, agent_state['agent_state'])
        return 'alive'


def cast_fdb(method: str, fdb_entries: Any, host: str | None = None
             ) -> None:
    """An l2population cast as Neutron's server sends it: fanout, or to
    one host."""
    client = common.client(L2POP_TOPIC, '1.0')
    cctxt = client.prepare(server=host) if host else \
        client.prepare(fanout=True)
    cctxt.cast(common.admin_context(), method, fdb_entries=fdb_entries)


def cast(topic: str, method: str, **kwargs: Any) -> None:
    """A fanout cast of the agent notifier (port_update...)."""
    common.client(topic, '1.0').prepare(fanout=True).cast(
        common.admin_context(), method, **kwargs)
