"""The server's RPC side: endpoints for agents, the notifier, failover."""
from __future__ import annotations

import logging
import threading

from kaon.conf import CONF
from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.rpc.dhcp_rpc import AgentExtRpcCallback, DhcpRpcCallback
from kaon.rpc.notifier import DhcpAgentNotifier
from kaon.scheduler import dhcp as scheduler

LOG = logging.getLogger(__name__)


class ServerRpc:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.notifier = DhcpAgentNotifier(plugin)
        self.servers = [
            common.server(common.PLUGIN, CONF.host,
                          [DhcpRpcCallback(plugin)]),
            common.server(common.REPORTS, CONF.host,
                          [AgentExtRpcCallback(plugin)]),
        ]
        self._stop = threading.Event()
        self._failover = threading.Thread(target=self._failover_loop,
                                          daemon=True, name='dhcp-failover')

    def start(self) -> 'ServerRpc':
        self.notifier.start()
        for server in self.servers:
            server.start()
        if CONF.allow_automatic_dhcp_failover:
            self._failover.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()

    def _failover_loop(self) -> None:
        """Neutron's remove_networks_from_down_agents, every half down time."""
        interval = max(CONF.agent_down_time // 2, 1)
        while not self._stop.wait(interval):
            try:
                moved = self.plugin.db.write(
                    scheduler.remove_networks_from_down_agents)
                for network_id in moved:
                    LOG.warning('network %s lost a dead DHCP agent; '
                                'rescheduling', network_id)
                    self.notifier.reschedule(network_id)
            except Exception:  # noqa: BLE001 - try again next round
                LOG.exception('DHCP failover check failed')
