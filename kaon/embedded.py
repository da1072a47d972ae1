"""Server and DHCP agent in one process: `kaon server --dhcp-agent` and the
all-in-one `kaon up`, over the in-process kaon:// RPC transport."""
from __future__ import annotations

import logging
import threading
from typing import Any

from kaon import state_files
from kaon.api import server as api_server

LOG = logging.getLogger(__name__)


class Embedded:
    def __init__(self, conf: Any, with_dhcp_agent: bool = True) -> None:
        self.conf = conf
        self.with_dhcp_agent = with_dhcp_agent
        self.server: Any = None
        self.agent: Any = None

    def start(self) -> 'Embedded':
        state_files.state_dir(self.conf.state_path)
        self.server = api_server.threaded_server(api_server.make_app())
        threading.Thread(target=self.server.serve, name='api',
                         daemon=True).start()
        if self.with_dhcp_agent:
            from kaon.agent.dhcp.service import DhcpAgentService
            self.agent = DhcpAgentService(self.conf).start()
        return self

    def stop(self, stop_dhcp: bool = False) -> None:
        """Stop serving.  dnsmasq keeps running unless `stop_dhcp` (an agent
        restart adopts running dnsmasqs; `kaon up` stops them on exit)."""
        if self.server is not None:
            self.server.stop()
        if self.agent is not None:
            self.agent.stop()
            if stop_dhcp:
                self.agent.agent.shutdown_networks()
