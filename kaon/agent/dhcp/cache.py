"""NetworkCache: what this agent believes it serves, network by network.

The network dicts are shared with the drivers (a driver reads the ports of
`driver.network`), so updating a port here updates what the driver serves.
"""
from __future__ import annotations

import threading
from typing import Any

Network = dict[str, Any]
Port = dict[str, Any]


class NetworkCache:
    def __init__(self) -> None:
        self._networks: dict[str, Network] = {}
        self._port_network: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, network_id: str) -> Network | None:
        return self._networks.get(network_id)

    def ids(self) -> list[str]:
        return list(self._networks)

    def put(self, network: Network) -> None:
        with self._lock:
            self._forget_ports(network['id'])
            self._networks[network['id']] = network
            for port in network['ports']:
                self._port_network[port['id']] = network['id']

    def remove(self, network_id: str) -> None:
        with self._lock:
            self._forget_ports(network_id)
            self._networks.pop(network_id, None)

    def _forget_ports(self, network_id: str) -> None:
        old = self._networks.get(network_id)
        for port in (old or {}).get('ports', ()):
            self._port_network.pop(port['id'], None)

    def get_port(self, port_id: str) -> Port | None:
        network = self._networks.get(self._port_network.get(port_id, ''))
        if network is None:
            return None
        return next((p for p in network['ports'] if p['id'] == port_id), None)

    def put_port(self, port: Port) -> Port | None:
        """Add or replace a port; returns the version it replaced."""
        with self._lock:
            network = self._networks[port['network_id']]
            ports = network['ports']
            for i, old in enumerate(ports):
                if old['id'] == port['id']:
                    ports[i] = port
                    return old
            ports.append(port)
            self._port_network[port['id']] = port['network_id']
            return None

    def remove_port(self, port_id: str) -> Port | None:
        with self._lock:
            network_id = self._port_network.pop(port_id, None)
            network = self._networks.get(network_id or '')
            if network is None:
                return None
            for i, port in enumerate(network['ports']):
                if port['id'] == port_id:
                    return network['ports'].pop(i)
            return None

    def ip_owner(self, network_id: str, ip_address: str) -> str | None:
        """Which cached port holds this address on the network, if any."""
        for port in (self.get(network_id) or {}).get('ports', ()):
            if any(ip['ip_address'] == ip_address for ip in port['fixed_ips']):
                return port['id']
        return None

    def get_state(self) -> dict[str, int]:
        """The counts report_state carries."""
        networks = list(self._networks.values())
        return {'networks': len(networks),
                'subnets': sum(len(n['subnets']) for n in networks),
                'ports': sum(len(n['ports']) for n in networks)}
