"""The DHCP driver interface: what the agent asks of a DHCP server backend.

The agent knows networks and ports as the server describes them (the
network-info dicts of `get_network_info`); a driver turns one network into
a running DHCP server.  dnsmasq is today's backend (kaon.agent.linux.dnsmasq);
another DHCP server would be a second subclass, the agent unchanged.
"""
from __future__ import annotations

import abc
from typing import Any

Network = dict[str, Any]   # {id, project_id, admin_state_up, mtu, subnets, ports}
Port = dict[str, Any]      # the API's port dict


class DhcpServeError(Exception):
    """The DHCP server for a network cannot serve what it was given; str()
    says why (for the agent's log and its reported state)."""


class DhcpDriver(abc.ABC):
    """One network's DHCP service on this host."""

    def __init__(self, conf: Any, network: Network, process_monitor: Any,
                 device_manager: Any) -> None:
        self.conf = conf
        self.network = network
        self.process_monitor = process_monitor
        self.device_manager = device_manager

    @abc.abstractmethod
    def enable(self) -> None:
        """Plug the DHCP port, write every file, start (or adopt) the server."""

    @abc.abstractmethod
    def disable(self, retain_port: bool = False) -> None:
        """Stop the server, unplug, remove namespace and files; release the
        DHCP port through the server unless `retain_port`."""

    @abc.abstractmethod
    def restart(self) -> None:
        """Stop and start again, keeping the DHCP port (subnet CIDRs changed)."""

    @abc.abstractmethod
    def reload_allocations(self) -> None:
        """Bring everything in line with `self.network` (full reconcile)."""

    @abc.abstractmethod
    def update_ports(self, ports: list[Port]) -> None:
        """Serve these new or changed ports; cost independent of network size."""

    @abc.abstractmethod
    def remove_ports(self, ports: list[Port]) -> None:
        """Stop serving these ports at once and release their leases."""

    def check_files(self) -> list[str]:
        """Compare what the server needs on disk with what is there, repair
        any drift (missing, extra, corrupt or foreign files) and check the
        server can still read it; one line per repair, [] when all was
        right.  Cheap when nothing changed: nothing is rewritten.

        :raises DhcpServeError: the server cannot be made to read its files.
        A backend with no files of its own has nothing to repair.
        """
        return []

    @property
    def unserved_subnets(self) -> dict[str, str]:
        """Subnet id -> why this backend left it out (the network's other
        subnets are still served)."""
        return {}

    @property
    @abc.abstractmethod
    def active(self) -> bool:
        """Is the DHCP server for this network running?"""

    @classmethod
    @abc.abstractmethod
    def existing_dhcp_networks(cls, conf: Any) -> list[str]:
        """Ids of networks that have state on this host (for clean-up)."""
