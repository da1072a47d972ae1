"""The whole server in one process: the API on the front's threads, the
RPC server and, for `kaon server --dhcp-agent` and the all-in-one `kaon
up`, a DHCP agent and a firewall agent (security groups on the taps kaon
plugs; `kaon server --dhcp-agent` only with `firewall_agent = true`), and
for `kaon up` an L2 agent (its networks are `local`: bridges and taps, no
VXLAN), all over the in-process kaon:// transport by default.

One plugin and database serve the API and the RPC server: in one process
ServerRpc's notifier sees the API's events too, so no second notifier.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from oslo_config import cfg

from kaon import state_files
from kaon.api.app import build_wsgi
from kaon.service.api_server import threaded_server
from kaon.service.front import Front
from kaon.service.rpc import RpcServer

if TYPE_CHECKING:
    from kaon.agent.dhcp.service import DhcpAgentService
    from kaon.agent.firewall.service import FirewallAgentService
    from kaon.agent.l2.service import L2AgentService

LOG = logging.getLogger(__name__)


class Embedded:
    def __init__(self, conf: cfg.ConfigOpts,
                 with_dhcp_agent: bool = True,
                 with_firewall_agent: bool | None = None,
                 with_l2_agent: bool = False) -> None:
        """`with_firewall_agent` None: as the `firewall_agent` option
        says, when there is a DHCP agent."""
        self.conf = conf
        self.with_dhcp_agent = with_dhcp_agent
        self.with_firewall_agent = (
            with_dhcp_agent and conf.firewall_agent
            if with_firewall_agent is None else with_firewall_agent)
        self.rpc: RpcServer | None = None
        self.server: Front | None = None
        self.agent: DhcpAgentService | None = None
        self.firewall: FirewallAgentService | None = None
        self.with_l2_agent = with_l2_agent
        self.l2: L2AgentService | None = None

    def start(self) -> Embedded:
        state_files.state_dir(self.conf.state_path)
        self.rpc = RpcServer().start()
        self.server = threaded_server(build_wsgi(self.rpc.plugin))
        threading.Thread(target=self.server.serve, name='api',
                         daemon=True).start()
        if self.with_dhcp_agent:
            # Imported here: a server without an agent needs none of it.
            from kaon.agent.dhcp.service import DhcpAgentService
            self.agent = DhcpAgentService(self.conf).start()
        if self.with_firewall_agent:
            from kaon.agent.firewall.service import FirewallAgentService
            self.firewall = FirewallAgentService(self.conf).start()
        if self.with_l2_agent:
            from kaon.agent.l2.service import L2AgentService
            self.l2 = L2AgentService(self.conf).start()
        return self

    def stop(self, stop_dhcp: bool = False) -> None:
        """Stop serving, in the order nothing waits on what is gone: the
        API (no new changes), the agents (their last calls still answered),
        then the RPC server and the database.  dnsmasq keeps running unless
        `stop_dhcp` (an agent restart adopts running dnsmasqs; `kaon up`
        stops them on exit, and removes its firewall's tables)."""
        if self.server is not None:
            self.server.stop()
        if self.l2 is not None:    # its bridges stay (kaon down's job)
            self.l2.stop()
        if self.firewall is not None:
            self.firewall.stop()
            if stop_dhcp:   # kaon up's exit: its data plane goes
                self.firewall.remove_filters()
        if self.agent is not None:
            self.agent.stop()
            if stop_dhcp:
                self.agent.agent.shutdown_networks()
        if self.rpc is not None:
            self.rpc.stop()
