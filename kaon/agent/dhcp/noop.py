"""dhcp_driver 'noop': the agent's bookkeeping without a DHCP server.

For tests of the agent's decisions and for hosts that only need the
agent's bookkeeping (the server's view of which agent hosts which network,
ports reported ready): nothing is plugged, written or started.  What it
keeps is what a real backend would find on the host: the networks enabled
and not yet disabled (existing_dhcp_networks), so a full sync still
disables what the server no longer lists.
"""
from __future__ import annotations

import threading
from typing import Any

from kaon.wire import DhcpDriver, NetworkInfo, Port


class NoopDriver:
    """One network's 'DHCP server', running from enable() to disable()."""

    def __init__(self, network: NetworkInfo, backend: NoopBackend) -> None:
        self.network = network
        self.backend = backend

    @property
    def active(self) -> bool:
        return self.backend.is_enabled(self.network['id'])

    @property
    def unserved_subnets(self) -> dict[str, str]:
        return {}

    def enable(self) -> None:
        self.backend.mark(self.network['id'], True)

    def disable(self, retain_port: bool = False) -> None:
        self.backend.mark(self.network['id'], False)

    def restart(self) -> None:
        self.backend.mark(self.network['id'], True)

    def reload_allocations(self) -> None:
        """As a real backend: a network with no server running starts."""
        self.backend.mark(self.network['id'], True)

    def update_ports(self, ports: list[Port]) -> None:
        pass

    def remove_ports(self, ports: list[Port]) -> None:
        pass

    def check_files(self) -> list[str]:
        return []


class NoopBackend:
    """A kaon.wire.DhcpBackend whose drivers are `driver_class` (NoopDriver
    or, in tests, a subclass recording what the agent asked)."""

    def __init__(self, conf: Any = None, process_monitor: Any = None,
                 device_manager: Any = None,
                 driver_class: type[NoopDriver] = NoopDriver) -> None:
        self.driver_class = driver_class
        self._enabled: set[str] = set()
        self._lock = threading.Lock()

    def driver(self, network: NetworkInfo) -> DhcpDriver:
        return self.driver_class(network, self)

    def existing_dhcp_networks(self) -> list[str]:
        with self._lock:
            return sorted(self._enabled)

    def is_enabled(self, network_id: str) -> bool:
        with self._lock:
            return network_id in self._enabled

    def mark(self, network_id: str, enabled: bool) -> None:
        with self._lock:
            if enabled:
                self._enabled.add(network_id)
            else:
                self._enabled.discard(network_id)
