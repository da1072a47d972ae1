"""The DHCP agent: keeps each hosted network's DHCP server in line with the
server's view, from casts (the nine `<resource>_<event>_end` handlers) and
from full or per-network resyncs.

Decisions follow Neutron's agent (shared/RPC.md section 6): the first
DHCP subnet enables a network, the same DHCP CIDRs reload it, changed CIDRs
restart it, no DHCP subnet left disables it; an IP change on the agent's
own DHCP port restarts.  Port events take the driver's per-port path, so
their cost does not grow with the network.

Every piece of work on a network, whoever starts it (a cast, the full
sync, a retry, a check), runs through the network's queue
(kaon.work_queue): one at a time per network, by construction.  Casts that
arrive while a full sync reads the server's view are held and queued
behind the sync's work, so older data never overwrites newer.

A failure stays as small as its cause: whatever fails for one network
(driver, DHCP server, RPC) marks that network failed, with the reason, and
it is retried alone with capped exponential backoff (one log line per
attempt, the traceback once per streak); the others go on.  A network is
served again only when it was configured and its files checked out.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from concurrent import futures
from typing import Any, Callable, Iterable, Protocol

from kaon.agent.backoff import Backoff
from kaon.agent.dhcp.cache import NetworkCache
from kaon.constants import DEVICE_OWNER_DHCP
from kaon.wire import (
    DhcpBackend,
    DhcpDriver,
    DhcpHealth,
    DhcpServerApi,
    NetworkInfo,
    Port,
)
from kaon.work_queue import Job, NetworkWorkQueue

LOG = logging.getLogger(__name__)
# Work the agent queues itself (Neutron's priorities: lower runs first;
# casts are 0 to 6).  A full sync's work goes first: casts held while it
# read the server's view are newer than what it read.
SYNC_PRIORITY = -1
RETRY_PRIORITY = 7
CHECK_PRIORITY = 8
REASON_MAX = 300        # characters of a failure reason in the state


class Monitor(Protocol):
    """The process monitor, as far as the agent reports its failures."""

    def failing(self) -> dict[str, str]: ...


class HostLimits(Protocol):
    """Room on the host for DHCP servers (InotifyLimits)."""

    def prepare(self, networks: int) -> None: ...

    def claim(self) -> None: ...


def dhcp_cidrs(network: NetworkInfo) -> set[str]:
    return {s['cidr'] for s in network['subnets'] if s['enable_dhcp']}


def _ips(port: Port | None) -> set[str]:
    return {ip['ip_address'] for ip in port.get('fixed_ips', ())} \
        if port else set()


def reason(err: BaseException) -> str:
    """One line: the exception's text (a process's stderr may have more)."""
    text = ' '.join(str(err).split()) or type(err).__name__
    return text[:REASON_MAX]


class DhcpAgent:
    """Owner of the drivers: what the server's casts (DhcpCasts), the full
    sync, retries and checks do to each network."""

    def __init__(self, conf: Any, plugin: DhcpServerApi,
                 backend: DhcpBackend, process_monitor: Monitor | None,
                 ready_ports: Callable[[list[str]], None],
                 host_limits: HostLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`backend` makes each network's driver (dhcp_driver option).
        `host_limits` (InotifyLimits) makes room on the host for the
        DHCP servers: prepare(n) before a sync, claim() before each start,
        which raises when the host cannot run one more."""
        self.conf = conf
        self.plugin = plugin
        self.backend = backend
        self.process_monitor = process_monitor
        self.mark_ready = ready_ports
        self.cache = NetworkCache()
        self.drivers: dict[str, DhcpDriver] = {}
        self.queue = NetworkWorkQueue(workers=8, name='dhcp')
        self.needs_resync: set[str] = set()
        self.full_resync = threading.Event()
        self._sync_lock = threading.Lock()
        self._sync_slots = threading.Semaphore(conf.num_sync_threads)
        # Casts held while a full sync reads the server's view (else None).
        self._held: list[tuple[str, int, Job]] | None = None
        self._held_lock = threading.Lock()
        self.host_limits = host_limits
        self.clock = clock
        self.failures = Backoff(cap=conf.dhcp_retry_max_interval)
        self.repairs = 0                     # file repairs since start
        self._checks_queued: set[str] = set()
        self._checks_lock = threading.Lock()

    def make_driver(self, network: NetworkInfo) -> DhcpDriver:
        return self.backend.driver(network)

    # Work on a network: queued, one at a time per network.
    def submit(self, network_id: str, priority: int, job: Job) -> None:
        """Queue `job`, or hold it while a full sync reads the server's
        view (the sync queues it behind its own work)."""
        with self._held_lock:
            if self._held is not None:
                self._held.append((network_id, priority, job))
                return
        self._queue(network_id, priority, job)

    def _queue(self, network_id: str, priority: int, job: Job
               ) -> futures.Future[None]:
        return self.queue.submit(network_id, priority,
                                 lambda: self._attempt(network_id, job))

    # Failures: the network's alone, retried with backoff.
    def _attempt(self, network_id: str, job: Job) -> None:
        try:
            job()
        except Exception as err:  # noqa: BLE001 - the network is retried
            self._failed(network_id, err)

    def _failed(self, network_id: str, err: Exception) -> None:
        streak = self.failures.failed(network_id, reason(err), self.clock())
        if streak.attempts == 1:
            LOG.error('network %s failed: %s; retrying in %.0f s',
                      network_id, streak.reason, streak.delay, exc_info=err)
        else:
            LOG.warning('network %s failed again (attempt %d): %s; retrying '
                        'in %.0f s', network_id, streak.attempts,
                        streak.reason, streak.delay)

    def _served(self, network_id: str) -> None:
        streak = self.failures.succeeded(network_id)
        if streak is not None:
            LOG.warning('network %s served again after %d failed attempts',
                        network_id, streak.attempts)

    def retry_due(self) -> None:
        """Queue a fresh enable of each failed network whose retry is due."""
        self._queue_enables(self.failures.due(self.clock()))

    def resync_marked(self) -> None:
        """Queue a fresh enable of each network marked for a resync."""
        marked = set()
        while self.needs_resync:
            marked.add(self.needs_resync.pop())
        self._queue_enables(marked)

    def _queue_enables(self, network_ids: Iterable[str]) -> None:
        for network_id in sorted(network_ids):
            self.submit(network_id, RETRY_PRIORITY,
                        functools.partial(self.enable_network, network_id))

    # Periodic reconciliation, through the queue (never beside other work
    # on the same network).
    def check_networks(self) -> None:
        """Queue a check of the files of every network served without a
        failure; one check per network waits in the queue at a time."""
        for network_id in self.cache.ids():
            with self._checks_lock:
                if network_id in self.failures or \
                        network_id in self._checks_queued:
                    continue
                self._checks_queued.add(network_id)
            self.submit(network_id, CHECK_PRIORITY,
                        functools.partial(self.check_network, network_id))

    def check_network(self, network_id: str) -> None:
        """Check a served network's files.  One that failed since its check
        was queued is left to its retry: only a configure that went
        through ends a failure streak, never a check."""
        with self._checks_lock:
            self._checks_queued.discard(network_id)
        driver = self.drivers.get(network_id)
        if driver is not None and network_id not in self.failures and \
                self.cache.get(network_id) is not None:
            self._check_files(network_id, driver)

    def _check_files(self, network_id: str, driver: DhcpDriver) -> None:
        """The driver repairs drift; each repair is logged.  Raises
        DhcpServeError when the server cannot read its files."""
        for line in driver.check_files():
            with self._checks_lock:
                self.repairs += 1
            LOG.warning('network %s: repaired %s', network_id, line)

    # What the events do.
    def enable_network(self, network_id: str) -> None:
        network = self.plugin.get_network_info(network_id)
        if network is None:
            return self.disable_network(network_id)
        self.configure_network(network)

    def configure_network(self, network: NetworkInfo) -> None:
        """Serve `network` as described, enabling or reloading as needed.

        The cache takes the network only once it is served and its files
        checked: a network that failed to enable is not half-served (its
        ports are never reported ready), and it is retried.  Its driver is
        kept from the first attempt on, so that whatever a failed enable
        made (namespace, bridge, veth) goes when the network does.
        """
        driver = self.drivers.get(network['id'])
        if not network['admin_state_up'] or not dhcp_cidrs(network):
            return self.disable_network(network['id'])
        old = self.cache.get(network['id'])
        if driver is None:
            driver = self.drivers[network['id']] = self.make_driver(network)
            self._claim_room(driver)
            driver.enable()
        else:
            driver.network = network
            self._claim_room(driver)
            if old is not None and dhcp_cidrs(old) != dhcp_cidrs(network):
                driver.restart()
            else:
                driver.reload_allocations()
        self._check_files(network['id'], driver)
        # The driver's network: with the DHCP port as the driver made it.
        self.cache.put(driver.network)
        self.mark_ready([p['id'] for p in driver.network['ports']])
        self._served(network['id'])

    def _claim_room(self, driver: DhcpDriver) -> None:
        """A server about to be started needs room on the host."""
        if self.host_limits is not None and not driver.active:
            self.host_limits.claim()

    def disable_network(self, network_id: str) -> None:
        driver = self.drivers.pop(network_id, None)
        self.cache.remove(network_id)
        self.failures.forget(network_id)
        if driver is not None:
            driver.disable()

    def shutdown_networks(self) -> None:
        """Stop serving every network here, keeping the DHCP ports (the
        all-in-one's exit: the next start serves them again)."""
        for network_id in list(self.drivers):
            self.cache.remove(network_id)
            self.drivers.pop(network_id).disable(retain_port=True)

    def remove_failed_networks(self) -> None:
        """At the agent's stop: remove what failed networks without a
        running server made (namespace, bridge, veth, files).  Served
        networks keep their server, for the next start to adopt."""
        for network_id in self.failures.failing():
            driver = self.drivers.get(network_id)
            if driver is not None and not driver.active:
                LOG.info('network %s failed; removing what it had here',
                         network_id)
                self.drivers.pop(network_id)
                self.cache.remove(network_id)
                self.failures.forget(network_id)
                driver.disable(retain_port=True)

    def refresh_network(self, network_id: str) -> None:
        self.enable_network(network_id)

    def port_changed(self, port: Port) -> None:
        network_id = port['network_id']
        if self.cache.get(network_id) is None:
            if network_id in self.failures:
                return      # its retry serves the port with the rest
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
        return port['device_owner'] == DEVICE_OWNER_DHCP and \
            port['binding:host_id'] in ('', self.conf.host)

    # Resync.
    def schedule_resync(self, network_id: str | None = None) -> None:
        if network_id is None:
            self.full_resync.set()
        else:
            self.needs_resync.add(network_id)

    def sync_state(self) -> None:
        """Make the local state match the server's, for every network, and
        return when done.

        It also removes what this host still has of networks it no longer
        serves (dirs, namespaces, processes from an earlier run).  Each
        network's part is queued like any other work on it; casts that
        arrive while the server's view is read are held behind it.
        """
        with self._sync_lock:       # one full sync at a time
            with self._held_lock:
                self._held = []
            try:
                jobs = self._queue_sync()
            finally:
                with self._held_lock:
                    held, self._held = self._held or [], None
                for network_id, priority, job in held:
                    self._queue(network_id, priority, job)
            futures.wait(jobs)

    def _queue_sync(self) -> list[futures.Future[None]]:
        self.needs_resync.clear()
        networks = self.plugin.get_active_networks_info()
        if self.host_limits is not None:
            self.host_limits.prepare(len(networks))
        wanted = {n['id'] for n in networks}
        known = set(self.drivers) | set(self.backend.existing_dhcp_networks())
        jobs = [self._queue(stale, SYNC_PRIORITY,
                            functools.partial(self._disable_stale, stale))
                for stale in sorted(known - wanted)]
        return jobs + [self._queue(n['id'], SYNC_PRIORITY,
                                   functools.partial(self._sync_network, n))
                       for n in networks]

    def _sync_network(self, network: NetworkInfo) -> None:
        """At most num_sync_threads networks configured at once."""
        with self._sync_slots:
            self.configure_network(network)

    def _disable_stale(self, network_id: str) -> None:
        LOG.info('network %s no longer hosted here; disabling', network_id)
        driver = self.drivers.pop(network_id, None) or self.make_driver(
            {'id': network_id, 'subnets': [], 'ports': [],
             'admin_state_up': False, 'mtu': 0, 'project_id': ''})
        self.cache.remove(network_id)
        self.failures.forget(network_id)
        driver.disable()

    # What the agent reports (report_state's configurations).
    def health(self, listed: int = 10) -> DhcpHealth:
        """Counts of networks served and failed, the first `listed` failed
        networks and unserved subnets with their reasons, file repairs."""
        failed = {k: s.reason for k, s in self.failures.failing().items()}
        for network_id, why in self._monitor_failures().items():
            failed.setdefault(network_id, why)
        unserved: dict[str, str] = {}
        for driver in list(self.drivers.values()):
            unserved.update(driver.unserved_subnets)
        return {'networks_failed': len(failed),
                'failed_networks': dict(sorted(failed.items())[:listed]),
                'subnets_unserved': len(unserved),
                'unserved_subnets': dict(sorted(unserved.items())[:listed]),
                'file_repairs': self.repairs}

    def _monitor_failures(self) -> dict[str, str]:
        monitor = self.process_monitor
        return monitor.failing() if monitor is not None else {}
