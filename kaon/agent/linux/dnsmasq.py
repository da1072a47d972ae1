"""The dnsmasq DHCP driver: one dnsmasq per network, one file per port.

Neutron writes a network's hosts, addn_hosts and opts into one file each and
SIGHUPs dnsmasq on every change, so one new port costs a rewrite and re-read
of every port of the network.  kaon keeps Neutron's line formats but gives
every port its own file in directories dnsmasq watches with inotify
(--dhcp-hostsdir, --hostsdir, --dhcp-optsdir).  dnsmasq 2.90 facts this
relies on (checked with busybox udhcpc, static ranges):

- a new or rewritten file is read at once, without SIGHUP, and the most
  recently read record for a MAC wins;
- a deleted file keeps being served until SIGHUP (dnsmasq only ever adds
  records on inotify), but a file rewritten to `<mac>,ignore` stops offers
  for that MAC at once.

So: add or change = write the port's files; remove = rewrite the host file
to `ignore` now, `dhcp_release` the lease, and delete the files + SIGHUP
later, at most one SIGHUP per network per `bulk_reload_interval`.  (Where
dnsmasq 2.90 would crash on that SIGHUP, the reload is a restart: see
_Reloads.)
"""
from __future__ import annotations

import collections
import logging
import os
import shutil
import signal
import threading
import time
from typing import Any

from kaon.agent.linux import device_manager as dm
from kaon.agent.linux import dnsmasq_files as files
from kaon.agent.linux.dhcp import DhcpDriver, Network, Port
from kaon.agent.linux.process import ProcessError, ProcessManager

LOG = logging.getLogger(__name__)

SERVICE = 'dnsmasq'
KINDS = ('host', 'addn_hosts', 'opts')
SUBNET_OPTS = 'subnets'         # opts/subnets: the subnet-level options

# SIGHUPs and reload-restarts per network (never reset): let tests prove a
# change was served through inotify alone.
SIGHUPS: collections.Counter[str] = collections.Counter()
RESTARTS: collections.Counter[str] = collections.Counter()
SET_TAG = ',set:'


class _Reloads:
    """Per network: removed ports' files awaiting deletion and the one
    coalesced reload that follows.  Module-level (see _reloads) because the
    agent may build a new driver object for every call, as Neutron does.

    `lock` also serialises every file write of the network, so a port
    re-added while its deletion is pending cannot lose its fresh files.

    The reload is a SIGHUP, except when dnsmasq may hold a host entry with
    a `set:` tag (ports with extra DHCP options): dnsmasq 2.90 links such
    an entry's tag into a list of stack variables when it serves the host,
    and a later SIGHUP frees that list and crashes (SIGSEGV/SIGABRT).  Then
    the reload restarts dnsmasq with the same command line instead: it
    reads the same files, and the lease file keeps the leases.
    """

    def __init__(self, network_id: str, conf_dir: str, pm: ProcessManager,
                 interval: float) -> None:
        self.network_id = network_id
        self.conf_dir = conf_dir
        self.pm = pm
        self.interval = interval
        self.lock = threading.RLock()
        self.pending: set[str] = set()
        self.tagged: set[str] = set()   # ports whose host file has set:
        self.tainted = False            # dnsmasq may hold a set: entry
        self.last_reload = float('-inf')
        self.timer: threading.Timer | None = None
        self.closed = False

    def schedule(self, port_ids: set[str] = frozenset()) -> None:
        """Queue deletions and a reload; the first one in a quiet period
        goes at once, later ones wait for `interval` and go together."""
        with self.lock:
            self.pending |= port_ids
            if self.timer is not None or self.closed:
                return
            delay = max(0.0, self.last_reload + self.interval -
                        time.monotonic())
            self.timer = threading.Timer(delay, self.flush)
            self.timer.daemon = True
            self.timer.start()

    def flush(self) -> None:
        with self.lock:
            self.timer = None
            if self.closed:
                return
            for port_id in sorted(self.pending):
                self.tagged.discard(port_id)
                for kind in KINDS:
                    files.remove(os.path.join(self.conf_dir, kind, port_id))
            self.pending.clear()
            self.last_reload = time.monotonic()
            if not self.tainted:
                if self.pm.signal(signal.SIGHUP):
                    SIGHUPS[self.network_id] += 1
                return
            try:
                if self.pm.restart():
                    RESTARTS[self.network_id] += 1
                    self.tainted = bool(self.tagged)
            except ProcessError:        # the process monitor respawns it
                LOG.exception('Restarting dnsmasq for %s failed',
                              self.network_id)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None


_reloads: dict[str, _Reloads] = {}
_reloads_lock = threading.Lock()


class Dnsmasq(DhcpDriver):

    def __init__(self, conf: Any, network: Network, process_monitor: Any,
                 device_manager: Any) -> None:
        super().__init__(conf, network, process_monitor, device_manager)
        self.network_id = network['id']
        self.conf_dir = os.path.join(os.path.abspath(conf.dhcp_confs),
                                     self.network_id)
        self.namespace = dm.namespace_name(conf, self.network_id)
        self._interface: str | None = None

    # -- paths, process --------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.conf_dir, *parts)

    @property
    def interface_name(self) -> str | None:
        if self._interface is None:
            name = files.read(self.path('interface')).strip()
            self._interface = name or None
        return self._interface

    def process_manager(self) -> ProcessManager:
        return ProcessManager(self.network_id, self.path('pid'),
                              self._command, namespace=self.namespace,
                              service=SERVICE)

    def _reloads(self) -> _Reloads:
        with _reloads_lock:
            state = _reloads.get(self.network_id)
            if state is None or state.closed:
                state = _Reloads(self.network_id, self.conf_dir,
                                 self.process_manager(),
                                 self.conf.bulk_reload_interval)
                _reloads[self.network_id] = state
            return state

    def _command(self, pid_file: str) -> list[str]:
        return files.command_line(self.conf, self.network, self.conf_dir,
                                  pid_file, self.interface_name or '')

    @property
    def active(self) -> bool:
        return self.process_manager().active

    @classmethod
    def existing_dhcp_networks(cls, conf: Any) -> list[str]:
        root = os.path.abspath(conf.dhcp_confs)
        try:
            names = os.listdir(root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if files.is_uuid(n) and
                      os.path.isdir(os.path.join(root, n)))

    # -- lifecycle -------------------------------------------------------
    def enable(self) -> None:
        """Plug, write every file, then start dnsmasq or adopt the running
        one (an agent restart must not restart dnsmasq)."""
        for kind in ('',) + KINDS:
            files.ensure_dir(self.path(kind))
        self._interface = self.device_manager.setup(self.network)
        files.write(self.path('interface'), self._interface + '\n')
        pm = self.process_manager()
        running = pm.cmdline()
        if running and running[1:] != self._command(pm.pid_file)[1:]:
            LOG.info('dnsmasq for %s runs with another command line '
                     '(subnets or MTU changed); restarting', self.network_id)
            pm.disable()
            running = []
        self._reconcile(running=bool(running))
        if running:
            LOG.info('Adopted dnsmasq pid %s for %s', pm.pid, self.network_id)
        else:
            state = self._reloads()
            # Under the process lock: the monitor may be respawning it.
            with state.lock, pm.lock:
                if not pm.active:
                    self._write_init_leases()
                    pm.spawn()
                    state.tainted = bool(state.tagged)
        if self.process_monitor is not None:
            self.process_monitor.register(self.network_id, SERVICE, pm)

    def disable(self, retain_port: bool = False) -> None:
        if self.process_monitor is not None:
            self.process_monitor.unregister(self.network_id, SERVICE)
        with _reloads_lock:
            state = _reloads.pop(self.network_id, None)
        if state is not None:
            state.close()
        self.process_manager().disable()
        self.device_manager.destroy(self.network, self.interface_name)
        shutil.rmtree(self.conf_dir, ignore_errors=True)
        self._interface = None
        if not retain_port:
            self.device_manager.release(self.network)

    def restart(self) -> None:
        self.disable(retain_port=True)
        self.enable()

    def reload_allocations(self) -> None:
        if not (os.path.isdir(self.conf_dir) and self.active):
            self.enable()
            return
        self._reconcile(running=True)

    # -- ports -----------------------------------------------------------
    def update_ports(self, ports: list[Port]) -> None:
        """Write these ports' files: O(ports given), not O(network)."""
        subnets = files.dhcp_subnets(self.network)
        state = self._reloads()
        needs_reload, released = False, set()
        for port in ports:
            if port.get('network_id', self.network_id) == self.network_id:
                reload, gone = self._write_port(state, port, subnets)
                needs_reload |= reload
                released |= gone
        self._release(released)
        if needs_reload:
            state.schedule()

    def remove_ports(self, ports: list[Port]) -> None:
        state = self._reloads()
        removed, released = set(), set()
        for port in ports:
            gone = self._stop_serving(state, port)
            if gone is not None:
                removed.add(port['id'])
                released |= gone
        self._release(released)
        if removed:
            state.schedule(removed)

    def _write_port(self, state: _Reloads, port: Port,
                    subnets: dict[str, dict]
                    ) -> tuple[bool, set[tuple[str, str]]]:
        """Write one port's three files.  Returns whether dnsmasq needs a
        reload, and the (mac, ip) leases to release.

        A new file needs none.  A changed file does: dnsmasq only adds the
        new records, the old ones (an old IP, a dropped option) stay in
        memory until reloaded.  A changed IP is also released at once, else
        the old lease keeps that IP from the port that gets it next.
        """
        wanted = files.port_files(port, subnets, self.conf.dns_domain)
        needs_reload = False
        with state.lock:
            state.pending.discard(port['id'])
            old_host = files.read(self.path('host', port['id']))
            self._track_tags(state, port['id'], old_host, wanted['host'])
            for kind in KINDS:
                before = files.sync(self.path(kind, port['id']), wanted[kind])
                needs_reload |= bool(before) and before != wanted[kind]
        gone = files.host_pairs(old_host) - files.host_pairs(wanted['host'])
        return needs_reload, gone

    def _stop_serving(self, state: _Reloads,
                      port: Port) -> set[tuple[str, str]] | None:
        """`<mac>,ignore` now (no reload needed); the files are deleted
        with the next reload.  Returns the (mac, ip) leases to release,
        None if the port was never served."""
        port_id = port['id']
        with state.lock:
            paths = [self.path(kind, port_id) for kind in KINDS]
            if not any(os.path.exists(p) for p in paths):
                return None
            old = files.read(paths[0])
            self._track_tags(state, port_id, old, '')
            macs = files.host_macs(old)
            if port.get('mac_address'):
                macs.add(port['mac_address'])
            files.sync(paths[0], ''.join(f'{m},ignore\n' for m in
                                         sorted(macs)))
        return files.host_pairs(old)

    @staticmethod
    def _track_tags(state: _Reloads, port_id: str, old: str,
                    new: str) -> None:
        """Note host entries with set: (see _Reloads): the old one may be
        in dnsmasq's memory, the new one will be."""
        if SET_TAG in new:
            state.tagged.add(port_id)
        else:
            state.tagged.discard(port_id)
        if SET_TAG in old or SET_TAG in new:
            state.tainted = True

    def _release(self, pairs: set[tuple[str, str]]) -> None:
        if pairs:
            files.dhcp_release(self.namespace, self.interface_name, pairs)

    # -- whole network ---------------------------------------------------
    def _reconcile(self, running: bool) -> None:
        """Make every file match self.network; stale ports go through the
        removal path (or are just deleted when no dnsmasq reads them)."""
        state = self._reloads()
        ports = [p for p in self.network.get('ports', ())]
        wanted_ids = {p['id'] for p in ports}
        on_disk = set()
        for kind in KINDS:
            on_disk |= files.port_ids(self.path(kind))
        stale = on_disk - wanted_ids - state.pending
        if running:
            self.remove_ports([{'id': i} for i in sorted(stale)])
        else:
            for port_id in stale:
                state.tagged.discard(port_id)
                for kind in KINDS:
                    files.remove(self.path(kind, port_id))
        needs_reload, released = False, set()
        subnets = files.dhcp_subnets(self.network)
        for port in ports:
            reload, gone = self._write_port(state, port, subnets)
            needs_reload |= reload
            released |= gone
        if running:
            self._release(released)
        opts = files.subnet_opts(self.network, self.conf.dns_domain)
        with state.lock:
            before = files.sync(self.path('opts', SUBNET_OPTS), opts)
        needs_reload |= before is not None and before != opts
        if running and needs_reload:
            state.schedule()

    def _write_init_leases(self) -> None:
        """A lease for every port, written only before the first start.

        dnsmasq keeps its leases in this file.  One that starts without
        them (moved to another agent, or its files lost) would NAK the
        renewals of clients holding leases from the old server, and they
        would drop their address.  Seeding a lease per port makes dnsmasq
        ACK those renewals.  Once dnsmasq runs the file is its own.
        """
        path = self.path('leases')
        if os.path.exists(path):
            return
        duration = self.conf.dhcp_lease_duration
        # dnsmasq writes 0 as the expiry of an infinite lease.
        expiry = 0 if duration == -1 else int(time.time()) + duration
        lines = [f'{expiry} {mac} {ip} * *\n' for mac, ip in
                 files.lease_pairs(self.network)]
        files.write(path, ''.join(lines))
