"""Running a DHCP agent: RPC consumer, heartbeat, resync and ready-ports loops.

The resync loop also retries failed networks when their backoff is due and,
every `dhcp_check_interval` seconds, queues the check of every served
network's files (DhcpAgent.check_networks).  Before any dnsmasq starts, the
host must have room for it (InotifyLimits: raised at the first sync for all
networks at once, then as they grow).

Start-up order matters: the first report_state creates the agent row, and
only an alive agent gets networks from get_active_networks_info (which
auto-schedules), so the agent reports before its first full sync.  The RPC
consumer starts first of all so that casts sent meanwhile wait in its queue.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable

from kaon.agent.backoff import Backoff
from kaon.agent.dhcp import drivers
from kaon.agent.dhcp.agent import DhcpAgent, reason
from kaon.agent.dhcp.casts import DhcpCasts
from kaon.agent.heartbeat import Heartbeat
from kaon.agent.linux.device_manager import DeviceManager
from kaon.agent.linux.inotify import InotifyLimits
from kaon.agent.linux.process import ProcessMonitor
from kaon.constants import AGENT_TYPE_DHCP
from kaon.rpc import common
from kaon.rpc.agent_api import DhcpPluginApi
from kaon.wire import AgentState, DhcpConfigurations

LOG = logging.getLogger(__name__)
BINARY = 'kaon-dhcp-agent'
READY_BATCH = 64   # Neutron's DHCP_READY_PORTS_SYNC_MAX
TICK = 0.2         # seconds between looks at due retries
FULL_SYNC = 'full sync'


class DhcpAgentService:
    def __init__(self, conf: Any) -> None:
        """:raises drivers.UnknownDriver: dhcp_driver names no backend."""
        backend = drivers.load(conf.dhcp_driver)
        self.conf = conf
        self.plugin = DhcpPluginApi(conf.host)
        self.monitor = ProcessMonitor(conf)
        self._ready: set[str] = set()
        self._ready_wakeup = threading.Condition()
        self.limits = InotifyLimits()
        self.backend = backend(conf, self.monitor,
                               DeviceManager(conf, self.plugin))
        self.agent = DhcpAgent(conf, self.plugin, self.backend, self.monitor,
                               self.mark_ready, host_limits=self.limits)
        self._sync_backoff = Backoff(cap=conf.dhcp_retry_max_interval)
        self.rpc = common.server(common.DHCP_AGENT, conf.host,
                                 [DhcpCasts(self.agent)])
        self._stop = threading.Event()
        self.heartbeat = Heartbeat(self.state, self.agent.schedule_resync)

    def start(self) -> 'DhcpAgentService':
        self.rpc.start()
        self.monitor.start()
        self.report_state()
        self.agent.full_resync.set()
        self._spawn(self._ready_loop, 'dhcp-ready-ports')
        self._spawn(lambda: self.heartbeat.run(
            self._stop, self.conf.report_interval), 'dhcp-report-state')
        self._spawn(self._resync_loop, 'dhcp-resync')
        return self

    def stop(self) -> None:
        """Stop RPC and loops; dnsmasq processes keep serving (an agent
        restart adopts them), failed networks leave nothing behind."""
        self._stop.set()
        with self._ready_wakeup:
            self._ready_wakeup.notify_all()
        self.rpc.stop()
        self.rpc.wait()
        self.monitor.stop()
        self.agent.queue.shutdown()
        self.agent.remove_failed_networks()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    # Heartbeat.
    def state(self) -> AgentState:
        configurations: DhcpConfigurations = {
            **self.agent.cache.get_state(), **self.agent.health(),
            'inotify_max_user_instances': self._instances_limit(),
            'dhcp_driver': self.conf.dhcp_driver,
            'dhcp_lease_duration': self.conf.dhcp_lease_duration,
            'log_agent_heartbeats': False}
        state: AgentState = {
            'binary': BINARY, 'host': self.conf.host,
            'availability_zone': self.conf.availability_zone,
            'topic': common.DHCP_AGENT, 'agent_type': AGENT_TYPE_DHCP,
            'configurations': configurations,
            'uuid': str(uuid.uuid4()),
        }
        return state

    def _instances_limit(self) -> int | None:
        try:
            return self.limits.read('max_user_instances')
        except (OSError, ValueError):
            return None

    def report_state(self) -> None:
        """Heartbeat (kaon.agent.heartbeat: after the server or broker
        was unreachable, or when the server says we were dead, a full
        resync)."""
        self.heartbeat.report()

    # Resync, retries, checks.
    def _resync_loop(self) -> None:
        check = self.conf.dhcp_check_interval
        next_check = time.monotonic() + check
        next_resync = time.monotonic() + self.conf.resync_interval
        while not self._stop.wait(TICK):
            if self.agent.full_resync.is_set():
                self._full_sync()
            self.agent.retry_due()
            now = time.monotonic()
            if now >= next_resync:
                self.agent.resync_marked()
                next_resync = now + self.conf.resync_interval
            if check > 0 and now >= next_check:
                self.agent.check_networks()
                next_check = now + check

    def _full_sync(self) -> None:
        """Sync everything, backing off while the server is away."""
        now = time.monotonic()
        if not self._sync_backoff.may_try(FULL_SYNC, now):
            return
        try:
            self.agent.full_resync.clear()
            self.agent.sync_state()
        except Exception as err:  # noqa: BLE001 - server may be away
            self.agent.full_resync.set()
            streak = self._sync_backoff.failed(FULL_SYNC, reason(err), now)
            LOG.warning('resync failed (attempt %d): %s; retrying in %.0f s',
                        streak.attempts, streak.reason, streak.delay)
        else:
            self._sync_backoff.succeeded(FULL_SYNC)

    # Ports whose DHCP entry is in place: tell the server (batched).
    def mark_ready(self, port_ids: list[str]) -> None:
        with self._ready_wakeup:
            self._ready.update(port_ids)
            self._ready_wakeup.notify()

    def _ready_loop(self) -> None:
        while not self._stop.is_set():
            with self._ready_wakeup:
                self._ready_wakeup.wait_for(
                    lambda: self._ready or self._stop.is_set())
                batch = [self._ready.pop() for _ in
                         range(min(READY_BATCH, len(self._ready)))]
            if batch:
                try:
                    self.plugin.dhcp_ready_on_ports(batch)
                except Exception as err:  # noqa: BLE001 - retry later
                    LOG.warning('dhcp_ready_on_ports failed: %s', err)
                    self.mark_ready(batch)
                    self._stop.wait(1)
