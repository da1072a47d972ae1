"""NetworkCache: what this agent believes it serves, network by network.

The network dicts are shared with the drivers (a driver reads the ports of
`driver.network` when it reconciles everything), so updating a port here
updates what the driver serves.  Both only change a network's ports from
that network's queued work (kaon.work_queue), one job at a time; a new
network from the server replaces the old dict, never changes it.

Port events must not cost O(ports in the network): ports are found
through an index of list positions (a removal swaps the last port into
the hole) and IPs through an index of owners.
"""
from __future__ import annotations

import threading

from kaon.wire import DhcpCounts, NetworkInfo as Network, Port


def _ips(port: Port) -> list[str]:
    return [ip['ip_address'] for ip in port.get('fixed_ips', ())]


class NetworkCache:
    def __init__(self) -> None:
        self._networks: dict[str, Network] = {}
        self._port_network: dict[str, str] = {}
        self._position: dict[str, int] = {}           # port id -> index
        self._ip_owner: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, network_id: str) -> Network | None:
        return self._networks.get(network_id)

    def ids(self) -> list[str]:
        return list(self._networks)

    def put(self, network: Network) -> None:
        with self._lock:
            self._forget(network['id'])
            self._networks[network['id']] = network
            for i, port in enumerate(network['ports']):
                self._index(network['id'], port, i)

    def remove(self, network_id: str) -> None:
        with self._lock:
            self._forget(network_id)
            self._networks.pop(network_id, None)

    def _index(self, network_id: str, port: Port, position: int) -> None:
        self._port_network[port['id']] = network_id
        self._position[port['id']] = position
        for ip in _ips(port):
            self._ip_owner[(network_id, ip)] = port['id']

    def _unindex_ips(self, network_id: str, port: Port) -> None:
        for ip in _ips(port):
            if self._ip_owner.get((network_id, ip)) == port['id']:
                del self._ip_owner[(network_id, ip)]

    def _forget(self, network_id: str) -> None:
        old = self._networks.get(network_id)
        for port in old['ports'] if old else ():
            self._port_network.pop(port['id'], None)
            self._position.pop(port['id'], None)
            self._unindex_ips(network_id, port)

    def _position_of(self, network_id: str, port_id: str) -> int | None:
        """The port's index, re-indexing the network if someone (the device
        manager swapping in the DHCP port) changed the list under us."""
        ports = self._networks[network_id]['ports']
        position = self._position.get(port_id)
        if position is not None and position < len(ports) and \
                ports[position]['id'] == port_id:
            return position
        for i, port in enumerate(ports):
            self._index(network_id, port, i)
        return self._position.get(port_id) if any(
            p['id'] == port_id for p in ports) else None

    def get_port(self, port_id: str) -> Port | None:
        network_id = self._port_network.get(port_id, '')
        if network_id not in self._networks:
            return None
        position = self._position_of(network_id, port_id)
        return None if position is None else \
            self._networks[network_id]['ports'][position]

    def put_port(self, port: Port) -> Port | None:
        """Add or replace a port; returns the version it replaced."""
        with self._lock:
            network_id = port['network_id']
            ports = self._networks[network_id]['ports']
            position = self._position_of(network_id, port['id'])
            old = None
            if position is None:
                position = len(ports)
                ports.append(port)
            else:
                old = ports[position]
                self._unindex_ips(network_id, old)
                ports[position] = port
            self._index(network_id, port, position)
            return old

    def remove_port(self, port_id: str) -> Port | None:
        with self._lock:
            network_id = self._port_network.pop(port_id, '')
            network = self._networks.get(network_id)
            if network is None:
                return None
            ports = network['ports']
            position = self._position_of(network_id, port_id)
            if position is None:
                return None
            del self._position[port_id]
            port, last = ports[position], ports.pop()
            if last is not port:         # fill the hole with the last one
                ports[position] = last
                self._position[last['id']] = position
            self._unindex_ips(network_id, port)
            return port

    def ip_owner(self, network_id: str, ip_address: str) -> str | None:
        """Which cached port holds this address on the network, if any."""
        return self._ip_owner.get((network_id, ip_address))

    def get_state(self) -> DhcpCounts:
        """The counts report_state carries."""
        networks = list(self._networks.values())
        return {'networks': len(networks),
                'subnets': sum(len(n['subnets']) for n in networks),
                'ports': sum(len(n['ports']) for n in networks)}
