"""Running a DHCP agent: RPC consumer, heartbeat, resync and ready-ports loops.

Start-up order matters: the first report_state creates the agent row, and
only an alive agent gets networks from get_active_networks_info (which
auto-schedules), so the agent reports before its first full sync.  The RPC
consumer starts first of all so that casts sent meanwhile wait in its queue.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from kaon.agent.dhcp.agent import DhcpAgent
from kaon.agent.linux.device_manager import DeviceManager
from kaon.agent.linux.dnsmasq import Dnsmasq
from kaon.agent.linux.process import ProcessMonitor
from kaon.rpc import common
from kaon.rpc.agent_api import DhcpPluginApi, PluginReportStateAPI

LOG = logging.getLogger(__name__)
BINARY = 'kaon-dhcp-agent'
READY_BATCH = 64   # Neutron's DHCP_READY_PORTS_SYNC_MAX


class DhcpAgentService:
    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.plugin = DhcpPluginApi(conf.host)
        self.reports = PluginReportStateAPI()
        self.monitor = ProcessMonitor(conf)
        self._ready: set[str] = set()
        self._ready_wakeup = threading.Condition()
        self.agent = DhcpAgent(conf, self.plugin, Dnsmasq,
                               DeviceManager(conf, self.plugin), self.monitor,
                               self.mark_ready)
        self.rpc = common.server(common.DHCP_AGENT, conf.host, [self.agent])
        self._stop = threading.Event()
        self._start_flag = True
        self._server_lost = False

    def start(self) -> 'DhcpAgentService':
        self.rpc.start()
        self.monitor.start()
        self.report_state()
        self.agent.full_resync.set()
        self._spawn(self._ready_loop, 'dhcp-ready-ports')
        self._spawn(self._report_loop, 'dhcp-report-state')
        self._spawn(self._resync_loop, 'dhcp-resync')
        return self

    def stop(self) -> None:
        """Stop RPC and loops; dnsmasq processes keep serving (an agent
        restart adopts them)."""
        self._stop.set()
        with self._ready_wakeup:
            self._ready_wakeup.notify_all()
        self.rpc.stop()
        self.rpc.wait()
        self.monitor.stop()
        self.agent.queue.shutdown()

    def _spawn(self, target: Any, name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    # Heartbeat.
    def state(self) -> dict[str, Any]:
        state = {
            'binary': BINARY, 'host': self.conf.host,
            'availability_zone': self.conf.availability_zone,
            'topic': common.DHCP_AGENT, 'agent_type': 'DHCP agent',
            'configurations': dict(
                self.agent.cache.get_state(),
                dhcp_driver='kaon.agent.linux.dnsmasq.Dnsmasq',
                dhcp_lease_duration=self.conf.dhcp_lease_duration,
                log_agent_heartbeats=False),
            'uuid': str(uuid.uuid4()),
        }
        if self._start_flag:
            state['start_flag'] = True
        return state

    def report_state(self) -> None:
        """Heartbeat; after the server or broker was unreachable, or when
        the server says we were dead, resync fully: casts sent meanwhile
        may be lost."""
        try:
            result = self.reports.report_state(self.state())
        except Exception as err:  # noqa: BLE001 - the server may be away
            LOG.warning('report_state failed: %s', err)
            self._server_lost = True
            return
        self._start_flag = False
        if result == 'revived' or self._server_lost:
            LOG.info('agent revived or reconnected (%s); full resync', result)
            self._server_lost = False
            self.agent.schedule_resync()

    def _report_loop(self) -> None:
        while not self._stop.wait(self.conf.report_interval):
            self.report_state()

    # Resync.
    def _resync_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.agent.full_resync.is_set():
                    self.agent.full_resync.clear()
                    self.agent.sync_state()
                elif self.agent.needs_resync:
                    self.agent.sync_state(list(self.agent.needs_resync))
            except Exception as err:  # noqa: BLE001 - server may be away
                LOG.warning('resync failed (%s); retrying', err)
                self.agent.full_resync.set()
            self._stop.wait(self.conf.resync_interval
                            if not self.agent.full_resync.is_set() else 1)

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
