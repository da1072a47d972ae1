"""The server's RPC, split by where each part must run.

A kaon server has exactly one RPC server: the consumers of the agents'
topics (q-plugin, q-reports-plugin) and the DHCP failover loop.  With
api_workers > 1 it runs once, in a process of its own (rpc_process.py),
not in each worker:
N workers would be N consumers sharing every topic (N connections and
thread pools for one server's work) and N failover loops racing to move
the same networks off a dead agent.

The DHCP notifier is the other way round.  Plugin events (port created,
subnet updated...) are raised in the process whose plugin made the change,
i.e. in the API worker that served the request (plugin.events is an
in-process bus), so every such process needs its own notifier to turn its
events into casts to the agents.  A worker's notifier only casts; it
consumes nothing.  (The RPC server's own ServerRpc keeps one too: the
agents' calls and failover change things in that process.)
"""
from __future__ import annotations

import logging

from kaon.conf import CONF, register_messaging_opts
from kaon.rpc.service import ServerRpc
from kaon.service.database import open_plugin

LOG = logging.getLogger(__name__)

# Seconds a stopping process gives its notifier to send the casts still
# queued (with the broker down a cast would wait for it forever).
DRAIN_GRACE = 5.0


class RpcServer:
    """The one RPC server of a kaon server, with a plugin and database of
    its own (the API of the same process shares them), started once and
    stopped explicitly."""

    def __init__(self) -> None:
        self.plugin = open_plugin()
        self.db = self.plugin.db
        self._rpc: ServerRpc | None = None

    def start(self) -> RpcServer:
        self._rpc = ServerRpc(self.plugin).start()
        return self

    def stop(self) -> None:
        """Consumers stopped and their in-flight calls finished (ServerRpc
        stops and waits its servers), the casts still queued sent (for up
        to DRAIN_GRACE), the database closed."""
        rpc, self._rpc = self._rpc, None
        if rpc is not None:
            rpc.stop(DRAIN_GRACE)
        self.db.dispose()


def in_process_transport() -> bool:
    """Whether RPC rides kaon:// (the default), which reaches only this
    process."""
    register_messaging_opts(CONF)
    return str(CONF.transport_url).startswith('kaon:')


def warn_if_workers_unreachable() -> None:
    """With api_workers > 1 on kaon:// no DHCP agent can reach the server
    (an agent in the same process is only possible with one process) and
    a worker's casts reach nobody.  The API itself works -- Neutron's does
    without DHCP agents too, and the tests that load the API with several
    workers rely on that -- so this is said once at start, not refused."""
    if in_process_transport():
        LOG.warning('api_workers = %d with transport_url = kaon:// (the '
                    'in-process transport): no DHCP agent can reach this '
                    'server, so networks get no DHCP. Set transport_url = '
                    'rabbit://... to run DHCP agents, or api_workers = 1 '
                    'with `kaon server --dhcp-agent`.', CONF.api_workers)
