"""The server's RPC side: endpoints for agents, the notifier, failover.

Wiring: one ServerRpc per server (its consumers on `q-plugin` -- the DHCP
agents', the firewalls' and the L2 agents' calls -- and `q-reports-plugin`,
and the failover loop), and one DhcpAgentNotifier and one L2AgentNotifier
per plugin, since a notifier hears only its own plugin's events.  A
process where the API and the RPC service share one plugin passes that
plugin's DHCP notifier in (`ServerRpc(plugin, notifier)`: the caller
starts and stops it); without one, ServerRpc makes, starts and stops its
own, for the events of its own plugin (ports the agents create,
failover).  The L2 notifier is always ServerRpc's own: the L2 agents'
device reports are this process's events.
"""
from __future__ import annotations

import logging
import threading

from kaon.conf import CONF
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.rpc.dhcp_rpc import AgentExtRpcCallback, DhcpRpcCallback
from kaon.rpc.l2_rpc import L2RpcCallbacks
from kaon.rpc.l2pop_notifier import L2AgentNotifier
from kaon.rpc.notifier import DhcpAgentNotifier
from kaon.rpc.sg_rpc import SecurityGroupServerRpcCallback

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()


class ServerRpc:
    def __init__(self, plugin: Plugin,
                 notifier: DhcpAgentNotifier | None = None) -> None:
        self.plugin = plugin
        self._own_notifier = notifier is None
        self.notifier = notifier or DhcpAgentNotifier(plugin)
        self.l2_notifier = L2AgentNotifier(plugin)
        self.servers = [
            common.server(common.PLUGIN, CONF.host,
                          [DhcpRpcCallback(plugin),
                           SecurityGroupServerRpcCallback(plugin),
                           L2RpcCallbacks(plugin)]),
            common.server(common.REPORTS, CONF.host,
                          [AgentExtRpcCallback(plugin)]),
        ]
        self._stop = threading.Event()
        self._failover = threading.Thread(target=self._failover_loop,
                                          daemon=True, name='dhcp-failover')

    def start(self) -> ServerRpc:
        if self._own_notifier:
            self.notifier.start()
        for server in self.servers:
            server.start()
        if CONF.allow_automatic_dhcp_failover:
            self._failover.start()
        return self

    def stop(self, grace: float = 0.0) -> None:
        """Consumers stopped and their calls under way finished, the
        failover loop ended; a notifier of its own gets `grace` seconds for
        its queued casts (DhcpAgentNotifier.stop), the L2 notifier too."""
        self._stop.set()
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()
        if self._failover.is_alive():
            self._failover.join()
        if self._own_notifier:
            self.notifier.stop(grace)
        self.l2_notifier.stop(grace)

    def _failover_loop(self) -> None:
        """Neutron's remove_networks_from_down_agents, every half down time,
        after a first wait as long as the failover limit: a server started
        after an outage longer than that has heard no agent yet, and would
        take every network off agents that are alive."""
        interval = max(CONF.agent_down_time // 2, 1)
        if self._stop.wait(CONF.dhcp_failover_after or CONF.agent_down_time):
            return
        while not self._stop.wait(interval):
            try:
                self._fail_over()
            except Exception:  # noqa: BLE001 - try again next round
                LOG.exception('DHCP failover check failed')

    def _fail_over(self) -> None:
        for network_id in self.plugin.remove_networks_from_down_agents(ADMIN):
            LOG.warning('network %s lost a dead DHCP agent; rescheduling',
                        network_id)
            self.notifier.reschedule(network_id)
