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
Reloads.)
"""
from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from kaon.agent.linux import (
    device_manager as dm,
    dnsmasq_access as access,
    dnsmasq_files as files,
    dnsmasq_ports as ports_,
    dnsmasq_subnets as subnets_,
    dnsmasq_values as values,
)
from kaon.agent.linux.dhcp import DhcpServeError
from kaon.agent.linux.dnsmasq_reloads import DnsmasqHost, Reloads
from kaon.agent.linux.dnsmasq_tree import KINDS, LEASES, Tree
from kaon.agent.linux.process import ProcessManager, ProcessMonitor
from kaon.wire import NetworkInfo, Port

LOG = logging.getLogger(__name__)

SERVICE = 'dnsmasq'
SUBNET_OPTS = 'opts/subnets'    # the subnet-level options
INTERFACE = 'interface'         # the device dnsmasq listens on (kaon's)


class Dnsmasq:
    """One network's dnsmasq (a kaon.wire.DhcpDriver).

    `host` is what the agent's drivers share (a private one when None:
    a driver used alone, as benchmarks do)."""

    def __init__(self, conf: Any, network: NetworkInfo,
                 process_monitor: ProcessMonitor | None,
                 device_manager: dm.DeviceManager,
                 host: DnsmasqHost | None = None) -> None:
        self.conf = conf
        self.network = network
        self.process_monitor = process_monitor
        self.device_manager = device_manager
        self.host = host or DnsmasqHost()
        if not values.is_uuid(network.get('id')):
            # The id names directories, a namespace and argv: never a path.
            raise DhcpServeError(f'network id {network.get("id")!r}: not a '
                                 'UUID')
        self.network_id = network['id']
        self._planned: tuple[tuple[Any, Any], subnets_.Plan] | None = None
        self.dhcp_confs = os.path.abspath(conf.dhcp_confs)
        self.conf_dir = os.path.join(self.dhcp_confs, self.network_id)
        self.namespace = dm.namespace_name(conf, self.network_id)
        self._interface: str | None = None

    # -- paths, process --------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.conf_dir, *parts)

    @property
    def interface_name(self) -> str | None:
        if self._interface is None:
            try:
                self._interface = values.ifname(
                    self._reloads().tree.read(INTERFACE).strip())
            except values.Refused:      # none yet, or a corrupt file
                self._interface = None
        return self._interface

    def process_manager(self) -> ProcessManager:
        return ProcessManager(self.network_id, self.path('pid'),
                              self._command, namespace=self.namespace,
                              service=SERVICE, children=self.host.children)

    def _reloads(self) -> Reloads:
        return self.host.reloads(self.network_id, lambda: Reloads(
            self.network_id, Tree(self.conf_dir, access.file_gid(self.conf)),
            self.process_manager(), self.conf.bulk_reload_interval,
            self.host))

    def _run_as(self) -> access.RunAs:
        return access.prepare(self.conf, self.dhcp_confs)

    def _plan(self) -> subnets_.Plan:
        """The served subnets; each problem logged once per network.

        Made again only when the network's subnets or MTU are another
        object or value: port events, the hot path, leave both alone."""
        key = (self.network.get('subnets'), self.network.get('mtu'))
        cached = self._planned
        if cached is not None and cached[0][0] is key[0] and \
                cached[0][1] == key[1]:
            return cached[1]
        plan = subnets_.plan(self.network)
        self._planned = (key, plan)
        warned = self._reloads().warned
        for note in plan.notes():
            if note not in warned:
                warned.add(note)
                LOG.warning('Network %s: %s', self.network_id, note)
        return plan

    @property
    def unserved_subnets(self) -> dict[str, str]:
        return dict(self._plan().unserved)

    def _command(self, pid_file: str) -> list[str]:
        run_as = self._run_as()
        return files.command_line(self.conf, self._plan(), self.conf_dir,
                                  pid_file, self.interface_name or '',
                                  (run_as.user, run_as.group))

    @property
    def active(self) -> bool:
        return self.process_manager().active

    # -- lifecycle -------------------------------------------------------
    def enable(self) -> None:
        """Plug, write every file, then start dnsmasq or adopt the running
        one (an agent restart must not restart dnsmasq), and make sure it
        watches its directories.

        The DHCP port is plugged for the served subnets only (and an MTU
        only if it is one): an address on a subnet that cannot be served
        (no address to give, IPv6 on a link Linux will not run IPv6 on)
        would fail the whole network.
        """
        state = self._reloads()
        state.tree.gid = self._run_as().gid
        with state.lock:
            state.tree.ensure_dirs()
        plan = self._plan()
        served: NetworkInfo = {**self.network,
                               'subnets': list(plan.served.values()),
                               'mtu': plan.mtu or 0}
        self._interface, port = self.device_manager.setup(served)
        # A new dict: the old one may be the agent's cache's.
        self.network = dm.with_port(self.network, port)
        with state.lock:
            state.tree.sync(INTERFACE, self._interface + '\n')
        pm = self.process_manager()
        running = pm.cmdline()
        if running and running[1:] != self._command(pm.pid_file)[1:]:
            LOG.info('dnsmasq for %s runs with another command line '
                     '(subnets, MTU or user changed); restarting',
                     self.network_id)
            pm.disable()
            running = []
        self._reconcile(running=bool(running))
        if running:
            LOG.info('Adopted dnsmasq pid %s for %s', pm.pid, self.network_id)
        else:
            # Under the process lock: the monitor may be respawning it.
            with state.lock, pm.lock:
                if not pm.active:
                    self._write_init_leases()
                    pm.spawn()
                    state.tainted = bool(state.tagged)
        self._ensure_watched(pm)
        if self.process_monitor is not None:
            self.process_monitor.register(self.network_id, SERVICE, pm)

    def disable(self, retain_port: bool = False) -> None:
        if self.process_monitor is not None:
            self.process_monitor.unregister(self.network_id, SERVICE)
        self.host.close(self.network_id)
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
        served = self._plan().served
        state = self._reloads()
        needs_reload, released = False, set()
        refused: list[Port] = []
        for port in ports:
            if port.get('network_id', self.network_id) != self.network_id:
                continue
            written = ports_.write_port(state, port, served,
                                        self.conf.dns_domain)
            if written is None:
                refused.append(port)
                continue
            needs_reload |= written[0]
            released |= written[1]
        self._release(released)
        if refused:
            self.remove_ports(refused)
        if needs_reload:
            state.schedule()

    def remove_ports(self, ports: list[Port]) -> None:
        self._stop_serving([(p.get('id'), p.get('mac_address'))
                            for p in ports])

    def _stop_serving(self, ports: list[tuple[object, object]]) -> None:
        """Stop serving these (port id, mac) at once (see dnsmasq_ports);
        their files go with the next reload."""
        state = self._reloads()
        removed: set[str] = set()
        released: ports_.Leases = set()
        for port_id, mac in ports:
            gone = ports_.stop_serving(state, port_id, mac)
            if gone is not None and isinstance(port_id, str):
                removed.add(port_id)
                released |= gone
        self._release(released)
        if removed:
            state.schedule(removed)

    def _release(self, pairs: ports_.Leases) -> None:
        if pairs:
            files.dhcp_release(self.namespace, self.interface_name, pairs)

    # -- whole network ---------------------------------------------------
    def _reconcile(self, running: bool) -> None:
        """Make every file match self.network; stale ports go through the
        removal path (or are just deleted when no dnsmasq reads them), and
        so do ports that cannot be served.  Afterwards the tree knows every
        file the network needs."""
        state = self._reloads()
        plan = self._plan()
        ports = list(self.network.get('ports', ()))
        with state.lock:
            needs_reload, released, written = False, set(), set()
            for port in ports:
                result = ports_.write_port(state, port, plan.served,
                                           self.conf.dns_domain)
                if result is not None:
                    written.add(port['id'])
                    needs_reload |= result[0]
                    released |= result[1]
            on_disk = set()
            for kind in KINDS:
                on_disk |= state.tree.names(kind)
            stale = on_disk - written - state.pending
            if running:
                self._stop_serving([(i, None) for i in sorted(stale)])
            else:
                for port_id in stale:
                    state.tagged.discard(port_id)
                    for kind in KINDS:
                        state.tree.remove(f'{kind}/{port_id}')
            opts = files.subnet_opts(self.network, plan, self.conf.dns_domain)
            before = state.tree.sync(SUBNET_OPTS, opts)
            state.tree.complete = True
        if running:
            self._release(released)
        needs_reload |= before is not None and before != opts
        if running and needs_reload:
            state.schedule()

    def _write_init_leases(self) -> None:
        """A lease for every port, written only before the first start.

        dnsmasq keeps its leases in this file.  One that starts without
        them (moved to another agent, or its files lost) would NAK the
        renewals of clients holding leases from the old server, and they
        would drop their address.  Seeding a lease per port makes dnsmasq
        ACK those renewals.  Once dnsmasq runs the file is its own (its
        mode stays kaon's: 0640, dnsmasq's group).
        """
        if os.path.lexists(self.path(LEASES)):
            return
        self._reloads().tree.write(LEASES, files.init_leases(
            self.network, self._plan().served,
            self.conf.dhcp_lease_duration))

    # -- checking --------------------------------------------------------
    def check_files(self) -> list[str]:
        """Repair drift between the disk and what the network needs (see
        dnsmasq_tree), make dnsmasq re-read what it may hold wrongly, and
        check dnsmasq still runs as it should and watches its directories.
        One line per repair (the agent logs them); [] when all was right."""
        state = self._reloads()
        run_as = self._run_as()
        state.tree.gid = run_as.gid
        with state.lock:
            repairs = state.tree.ensure_dirs()
            if not state.tree.complete:
                self._reconcile(running=self.active)
            repairs += state.tree.check()
        if any(r.reload for r in repairs):
            state.schedule()
        done = [r.text for r in repairs]
        # dnsmasq adds its directory watches once and never drops them
        # while the directories stay (a replaced one is a repair above), so
        # a dnsmasq process is looked at in /proc once, and again only after
        # a repair or when the user it must run as changed.  Looking at it
        # on every check cost the port hot path (benchmarks/dhcp.py: served
        # p50 at 8 clients 31 -> 73 ms).
        if repairs or state.verified != (self.process_manager().pid, run_as):
            done += self._check_dnsmasq()
        return done

    def _check_dnsmasq(self) -> list[str]:
        """A running dnsmasq with the wrong user or no watch on its
        directories is restarted once; one that still does not watch them
        is stopped (DhcpServeError).  A dead one is the process monitor's.

        Under the reload lock: a reload may restart dnsmasq (see Reloads),
        and the old process, closing its fds as it exits, watches nothing;
        the new one gets the time it needs to add its watches."""
        pm, state = self.process_manager(), self._reloads()
        with state.lock:
            argv = pm.cmdline()
            if not argv:
                return []
            wanted = self._command(pm.pid_file)
            if _run_as_args(argv) != _run_as_args(wanted):
                self._respawn(pm)
                self._ensure_watched(pm)
                return [f'restarted dnsmasq to run as {_run_as_args(wanted)}']
            if self._ensure_watched(pm):
                return ['restarted dnsmasq: it did not watch its directories']
        return []

    def _watched_dirs(self) -> list[str]:
        return [self.path(kind) for kind in KINDS]

    def _respawn(self, pm: ProcessManager) -> None:
        state = self._reloads()
        with state.lock, pm.lock:
            pm.disable()
            pm.spawn()
            state.tainted = bool(state.tagged)

    def _ensure_watched(self, pm: ProcessManager) -> bool:
        """Never a running dnsmasq that serves no one: it must watch its
        three directories.  If it does not, fix what kaon owns and restart
        it once (True); if it still does not, stop it and say why.  The
        process found right is remembered (Reloads.verified)."""
        state = self._reloads()
        missing = access.wait_watched(pm.pid, self._watched_dirs())
        if not missing:
            state.verified = (pm.pid, self._run_as())
            return False
        with state.lock:
            state.tree.ensure_dirs()
            state.tree.check()
        self._respawn(pm)
        missing = access.wait_watched(pm.pid, self._watched_dirs())
        run_as = self._run_as()
        if not missing:
            state.verified = (pm.pid, run_as)
            return True
        if self.process_monitor is not None:
            self.process_monitor.unregister(self.network_id, SERVICE)
        pm.disable()
        raise DhcpServeError(
            f'dnsmasq for network {self.network_id} (user {run_as.user}, '
            f'group {run_as.group}) has no inotify watch on '
            f'{", ".join(missing)}: it could not read its files; stopped')


def _run_as_args(argv: list[str]) -> list[str]:
    return [a for a in argv if a.startswith(('--user=', '--group='))]

