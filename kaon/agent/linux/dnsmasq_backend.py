"""dhcp_driver 'dnsmasq': the entry point of kaon.dhcp_drivers that serves
each network with its own dnsmasq (kaon.agent.linux.dnsmasq)."""
from __future__ import annotations

import os
from typing import Any

from kaon.agent.linux import device_manager as dm, dnsmasq_values as values
from kaon.agent.linux.dnsmasq import Dnsmasq
from kaon.agent.linux.dnsmasq_reloads import DnsmasqHost
from kaon.agent.linux.process import ProcessMonitor
from kaon.wire import DhcpDriver, NetworkInfo


class DnsmasqBackend:
    """dhcp_driver 'dnsmasq' (a kaon.wire.DhcpBackend): one per agent,
    holding what its networks' drivers share (DnsmasqHost)."""

    def __init__(self, conf: Any, process_monitor: ProcessMonitor | None,
                 device_manager: dm.DeviceManager) -> None:
        self.conf = conf
        self.process_monitor = process_monitor
        self.device_manager = device_manager
        self.host = DnsmasqHost()

    def driver(self, network: NetworkInfo) -> DhcpDriver:
        return Dnsmasq(self.conf, network, self.process_monitor,
                       self.device_manager, self.host)

    def existing_dhcp_networks(self) -> list[str]:
        """Networks with a directory of files here (a network's dnsmasq,
        namespace and bridge all go with its directory: disable())."""
        root = os.path.abspath(self.conf.dhcp_confs)
        try:
            names = os.listdir(root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if values.is_uuid(n) and
                      os.path.isdir(os.path.join(root, n)))
