"""An agent's heartbeat: report_state every report_interval, as Neutron's
agents send it, for the DHCP agent and the L2 agent alike.

The first report that reaches the server carries start_flag (the server
then knows the agent (re)started: its started_at, and for the L2 agent
l2population's full resync).  After the server or broker was
unreachable, or when the server answers 'revived' (it had taken the
agent for dead), casts sent meanwhile may be lost, so the agent resyncs
fully (`resync`).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from kaon.rpc.agent_api import PluginReportStateAPI
from kaon.wire import AgentState

LOG = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, state: Callable[[], AgentState],
                 resync: Callable[[], None]) -> None:
        """`state`: the agent's state now, without start_flag."""
        self.state = state
        self.resync = resync
        self.reports = PluginReportStateAPI()
        self._start_flag = True
        self._server_lost = False

    def report(self) -> None:
        state = self.state()
        if self._start_flag:
            state['start_flag'] = True
        try:
            result = self.reports.report_state(state)
        except Exception as err:  # noqa: BLE001 - the server may be away
            LOG.warning('report_state failed: %s', err)
            self._server_lost = True
            return
        self._start_flag = False
        if result == 'revived' or self._server_lost:
            LOG.info('agent revived or reconnected (%s); full resync', result)
            self._server_lost = False
            self.resync()

    def run(self, stop: threading.Event, interval: float) -> None:
        """Report every `interval` seconds until `stop`."""
        while not stop.wait(interval):
            self.report()
