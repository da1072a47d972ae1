"""The DHCP agent: keeps each hosted network's DHCP server in line with the
server's view, from casts (the nine `<resource>_<event>_end` handlers) and
from full or per-network resyncs.

Decisions follow Neutron's agent (shared/RPC.md section 6): the first
DHCP subnet enables a network, the same DHCP CIDRs reload it, changed CIDRs
restart it, no DHCP subnet left disables it; an IP change on the agent's
own DHCP port restarts.  Port events take the driver's per-port path, so
their cost does not grow with the network.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import oslo_messaging

from kaon.agent.dhcp.cache import Network, NetworkCache, Port
from kaon.work_queue import NetworkWorkQueue

LOG = logging.getLogger(__name__)
DHCP_OWNER = 'network:dhcp'


def dhcp_cidrs(network: Network) -> set[str]:
    return {s['cidr'] for s in network['subnets'] if s['enable_dhcp']}


def _ips(port: Port | None) -> set[str]:
    return {ip['ip_address'] for ip in (port or {}).get('fixed_ips', ())}


class DhcpAgent:
    """RPC endpoint for the server's casts and owner of the drivers."""

    target = oslo_messaging.Target(version='1.0')

    def __init__(self, conf: Any, plugin: Any, driver_cls: Any,
                 device_manager: Any, process_monitor: Any,
                 ready_ports: Callable[[list[str]], None]) -> None:
        self.conf = conf
        self.plugin = plugin
        self.driver_cls = driver_cls
        self.device_manager = device_manager
        self.process_monitor = process_monitor
        self.mark_ready = ready_ports
        self.cache = NetworkCache()
        self.drivers: dict[str, Any] = {}
        self.queue = NetworkWorkQueue(workers=8, name='dhcp')
        self.needs_resync: set[str] = set()
        self.full_resync = threading.Event()
        self._sync_lock = threading.Lock()

    def make_driver(self, network: Network) -> Any:
        return self.driver_cls(self.conf, network, self.process_monitor,
                               self.device_manager)

    # Casts from the server: queue them, one network at a time.
    def _enqueue(self, network_id: str, payload: dict,
                 job: Callable[[], None]) -> None:
        def guarded() -> None:
            with self._sync_lock:   # wait while a full sync runs
                pass
            try:
                job()
            except Exception:  # noqa: BLE001 - resync repairs it
                LOG.exception('event for network %s failed; resyncing it',
                              network_id)
                self.schedule_resync(network_id)
        self.queue.submit(network_id, payload.get('priority', 6), guarded)

    def network_create_end(self, context: Any, payload: dict) -> None:
        net_id = payload['network']['id']
        self._enqueue(net_id, payload, lambda: self.enable_network(net_id))

    def network_update_end(self, context: Any, payload: dict) -> None:
        net = payload['network']
        job = (lambda: self.enable_network(net['id'])) \
            if net['admin_state_up'] else \
            (lambda: self.disable_network(net['id']))
        self._enqueue(net['id'], payload, job)

    def network_delete_end(self, context: Any, payload: dict) -> None:
        net_id = payload['network_id']
        self._enqueue(net_id, payload, lambda: self.disable_network(net_id))

    def subnet_create_end(self, context: Any, payload: dict) -> None:
        net_id = payload['subnet']['network_id']
        self._enqueue(net_id, payload, lambda: self.refresh_network(net_id))

    subnet_update_end = subnet_create_end

    def subnet_delete_end(self, context: Any, payload: dict) -> None:
        net_id = payload['network_id']
        self._enqueue(net_id, payload, lambda: self.refresh_network(net_id))

    def port_create_end(self, context: Any, payload: dict) -> None:
        port = payload['port']
        self._enqueue(port['network_id'], payload,
                      lambda: self.port_changed(port))

    port_update_end = port_create_end

    def port_delete_end(self, context: Any, payload: dict) -> None:
        self._enqueue(payload['network_id'], payload,
                      lambda: self.port_removed(payload['port_id']))

    def agent_updated(self, context: Any, payload: dict) -> None:
        self.full_resync.set()

    # What the events do.
    def enable_network(self, network_id: str) -> None:
        network = self.plugin.get_network_info(network_id)
        if network is None:
            return self.disable_network(network_id)
        self.configure_network(network)

    def configure_network(self, network: Network) -> None:
        """Serve `network` as described, enabling or reloading as needed.

        The cache takes the network only once it is served: a network that
        failed to enable is not half-served (its ports are never reported
        ready), and the resync loop tries it again.
        """
        driver = self.drivers.get(network['id'])
        if not network['admin_state_up'] or not dhcp_cidrs(network):
            return self.disable_network(network['id'])
        old = self.cache.get(network['id'])
        if driver is None:
            driver = self.make_driver(network)
            driver.enable()
            self.drivers[network['id']] = driver
        else:
            driver.network = network
            if old is not None and dhcp_cidrs(old) != dhcp_cidrs(network):
                driver.restart()
            else:
                driver.reload_allocations()
        self.cache.put(network)
        self.mark_ready([p['id'] for p in network['ports']])

    def disable_network(self, network_id: str) -> None:
        driver = self.drivers.pop(network_id, None)
        self.cache.remove(network_id)
        if driver is not None:
            driver.disable()

    def shutdown_networks(self) -> None:
        """Stop serving every network here, keeping the DHCP ports (the
        all-in-one's exit: the next start serves them again)."""
        for network_id in list(self.drivers):
            self.cache.remove(network_id)
            self.drivers.pop(network_id).disable(retain_port=True)

    def refresh_network(self, network_id: str) -> None:
        self.enable_network(network_id)

    def port_changed(self, port: Port) -> None:
        network_id = port['network_id']
        if self.cache.get(network_id) is None:
            return self.enable_network(network_id)
        for ip in _ips(port):
            owner = self.cache.ip_owner(network_id, ip)
            if owner not in (None, port['id']):
                LOG.warning('IP %s of port %s still held by %s in cache; '
                            'resyncing network', ip, port['id'], owner)
                self.schedule_resync(network_id)
        old = self.cache.put_port(port)
        driver = self.drivers[network_id]
        if self._is_own_dhcp_port(port) and old and _ips(old) != _ips(port):
            driver.restart()
        else:
            driver.update_ports([port])
        self.mark_ready([port['id']])

    def port_removed(self, port_id: str) -> None:
        port = self.cache.remove_port(port_id)
        if port is None:
            return
        driver = self.drivers.get(port['network_id'])
        if driver is None:
            return
        if self._is_own_dhcp_port(port):
            self.schedule_resync(port['network_id'])
        else:
            driver.remove_ports([port])

    def _is_own_dhcp_port(self, port: Port) -> bool:
        return port['device_owner'] == DHCP_OWNER and \
            port['binding:host_id'] in ('', self.conf.host)

    # Resync.
    def schedule_resync(self, network_id: str | None = None) -> None:
        if network_id is None:
            self.full_resync.set()
        else:
            self.needs_resync.add(network_id)

    def sync_state(self, network_ids: list[str] | None = None) -> None:
        """Make the local state match the server's (all or some networks).

        A full sync also removes what this host still has of networks it no
        longer serves (dirs, namespaces, processes from an earlier run).
        """
        with self._sync_lock:
            if network_ids is None:
                self._sync_all()
            else:
                self._sync_some(network_ids)

    def _sync_all(self) -> None:
        # Cleared first: networks that fail below are marked again.
        self.needs_resync.clear()
        networks = self.plugin.get_active_networks_info()
        wanted = {n['id'] for n in networks}
        known = set(self.drivers) | set(self.existing_networks())
        for stale in known - wanted:
            LOG.info('network %s no longer hosted here; disabling', stale)
            self._disable_stale(stale)
        self._configure_all(networks)

    def _sync_some(self, network_ids: list[str]) -> None:
        for network_id in network_ids:
            self.needs_resync.discard(network_id)
            self.enable_network(network_id)

    def _configure_all(self, networks: list[Network]) -> None:
        def configure(network: Network) -> None:
            try:
                self.configure_network(network)
            except Exception:  # noqa: BLE001 - retried by the resync loop
                LOG.exception('configuring network %s failed', network['id'])
                self.needs_resync.add(network['id'])
        with ThreadPoolExecutor(self.conf.num_sync_threads) as pool:
            list(pool.map(configure, networks))

    def _disable_stale(self, network_id: str) -> None:
        driver = self.drivers.pop(network_id, None) or self.make_driver(
            {'id': network_id, 'subnets': [], 'ports': [],
             'admin_state_up': False, 'mtu': 0, 'project_id': ''})
        self.cache.remove(network_id)
        driver.disable()

    def existing_networks(self) -> list[str]:
        return self.driver_cls.existing_dhcp_networks(self.conf)
