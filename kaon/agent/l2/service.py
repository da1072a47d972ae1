"""Running an L2 agent: the casts' consumers, the netlink listener, the
agent's loop, the heartbeat and a status file.

Start-up order: the consumers first (casts sent meanwhile wait in their
queues), then the link listener (so the first scan misses no tap), then
a full sync is marked (every tap new, every forwarding entry found stale
until the server lists it again), and the first report_state, carrying
start_flag, goes out before the loop's first update_device_list.  The
status file (`<state_path>/l2-agent.json`, shown by `kaon l2-agent
--status`) says how many taps are wired and the last error.
"""
from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any, Callable, cast

from kaon.agent import status_file
from kaon.agent.heartbeat import Heartbeat
from kaon.agent.l2 import options
from kaon.agent.l2.agent import L2Agent
from kaon.agent.l2.bridges import Wiring
from kaon.agent.l2.devices import TapEvents
from kaon.agent.l2.fdb import Forwarding
from kaon.constants import AGENT_TYPE_LINUXBRIDGE
from kaon.rpc import l2_agent_api
from kaon.wire import AgentState
from kaon.wire_l2 import TUNNELING_IP

LOG = logging.getLogger(__name__)
BINARY = 'neutron-linuxbridge-agent'
TOPIC = 'N/A'       # Neutron's L2_AGENT_TOPIC: L2 agents get no casts by it
STATUS_FILE = 'l2-agent.json'
STATUS_INTERVAL = 1.0   # seconds between looks for a changed status


def status_path(conf: Any) -> str:
    return os.path.join(conf.state_path, STATUS_FILE)


class L2AgentService:
    def __init__(self, conf: Any) -> None:
        options.register(conf)
        self.conf = conf
        self.wiring = Wiring(conf)
        # Only logged by the server (Neutron's is 'lb' + a MAC address).
        self.plugin = l2_agent_api.L2PluginApi(conf.host, f'lb-{conf.host}')
        self.agent = L2Agent(self.plugin, self.wiring, Forwarding(
            self.wiring.local_ip, conf.vxlan.arp_responder))
        self.rpc = l2_agent_api.consumers(conf.host, self.agent)
        self.events = TapEvents(self.agent.tap_event,
                                self.agent.request_rescan)
        self.heartbeat = Heartbeat(self.state, self.agent.full_sync)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> L2AgentService:
        for server in self.rpc:
            server.start()
        self.events.start()
        self.agent.full_sync()
        self.heartbeat.report()
        self._spawn(lambda: self.agent.run(
            self._stop, self.conf.agent.polling_interval), 'l2-agent')
        self._spawn(lambda: self.heartbeat.run(
            self._stop, self.conf.report_interval), 'l2-report-state')
        self._spawn(self._status_loop, 'l2-status')
        return self

    def stop(self) -> None:
        """Stop consuming, listening and looping; bridges, VXLAN devices
        and forwarding entries stay (a restarted agent adopts them)."""
        self._stop.set()
        self.agent.wake()
        self.events.stop()
        for server in self.rpc:
            server.stop()
        for server in self.rpc:
            server.wait()
        for thread in self._threads:
            thread.join()
        self._write_status()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def state(self) -> AgentState:
        configurations = {
            TUNNELING_IP: self.wiring.local_ip,
            'tunnel_types': ['vxlan'] if self.wiring.local_ip else [],
            'l2_population': self.conf.vxlan.l2_population,
            'interface_mappings': self.wiring.mappings,
            'bridge_mappings': {},
            'devices': self.agent.status['devices'],
            'extensions': []}
        # Neutron's L2 agents send no availability_zone (kaon.wire's
        # AgentState, made for the DHCP agent, requires one).
        return cast(AgentState, {
            'binary': BINARY, 'host': self.conf.host, 'topic': TOPIC,
            'agent_type': AGENT_TYPE_LINUXBRIDGE,
            'configurations': configurations, 'uuid': str(uuid.uuid4())})

    def _status_loop(self) -> None:
        written = None
        while not self._stop.wait(STATUS_INTERVAL):
            if self.agent.status != written:
                written = self._write_status()

    def _write_status(self) -> dict[str, Any]:
        status = dict(self.agent.status)
        status_file.write(status_path(self.conf), {
            **status, TUNNELING_IP: self.wiring.local_ip,
            'host': self.conf.host})
        return status
