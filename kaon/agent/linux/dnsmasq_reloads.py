"""Per network: the coalesced dnsmasq reload, and the network's files.

Kept by the agent's DnsmasqHost, not by a driver object, because the
agent may build a new driver object for every call, as Neutron does; and
not at module level, so two agents in one process share nothing.
"""
from __future__ import annotations

import collections
import logging
import signal
import threading
import time
from typing import Callable

from kaon.agent.linux.dnsmasq_tree import KINDS, Tree
from kaon.agent.linux.process import Children, ProcessError, ProcessManager

LOG = logging.getLogger(__name__)
SET_TAG = ',set:'


class ReloadCounts:
    """SIGHUPs and reload-restarts per network (never reset): let tests
    and benchmarks prove a change was served through inotify alone."""

    def __init__(self) -> None:
        self.sighups: collections.Counter[str] = collections.Counter()
        self.restarts: collections.Counter[str] = collections.Counter()


class Reloads:
    """Per network: removed ports' files awaiting deletion and the one
    coalesced reload that follows (kept by DnsmasqHost).
    `tree` is the network's files (dnsmasq_tree).

    `lock` also serialises every file write of the network, so a port
    re-added while its deletion is pending cannot lose its fresh files.

    The reload is a SIGHUP, except when dnsmasq may hold a host entry with
    a `set:` tag (ports with extra DHCP options): dnsmasq 2.90 links such
    an entry's tag into a list of stack variables when it serves the host,
    and a later SIGHUP frees that list and crashes (SIGSEGV/SIGABRT).  Then
    the reload restarts dnsmasq with the same command line instead: it
    reads the same files, and the lease file keeps the leases.
    """

    def __init__(self, network_id: str, tree: Tree, pm: ProcessManager,
                 interval: float, counts: ReloadCounts) -> None:
        self.network_id = network_id
        self.counts = counts
        self.tree = tree
        self.pm = pm
        self.interval = interval
        self.lock = threading.RLock()
        self.pending: set[str] = set()
        self.tagged: set[str] = set()   # ports whose host file has set:
        self.tainted = False            # dnsmasq may hold a set: entry
        self.last_reload = float('-inf')
        self.timer: threading.Timer | None = None
        self.closed = False
        self.warned: set[str] = set()     # warnings given, once each
        # (dnsmasq pid, RunAs) last found running as it should and
        # watching its directories (Dnsmasq.check_files).
        self.verified: tuple[int | None, object] | None = None

    def schedule(self, port_ids: frozenset[str] | set[str] = frozenset()
                 ) -> None:
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
                    self.tree.remove(f'{kind}/{port_id}')
            self.pending.clear()
            self.last_reload = time.monotonic()
            if not self.tainted:
                if self.pm.signal(signal.SIGHUP):
                    self.counts.sighups[self.network_id] += 1
                return
            try:
                if self.pm.restart():
                    self.counts.restarts[self.network_id] += 1
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


class DnsmasqHost(ReloadCounts):
    """What one agent's dnsmasq drivers share: each network's Reloads,
    the reload counts, and the dnsmasq processes it spawned."""

    def __init__(self) -> None:
        super().__init__()
        self.children = Children()
        self._reloads: dict[str, Reloads] = {}
        self._lock = threading.Lock()

    def reloads(self, network_id: str, make: Callable[[], Reloads]
                ) -> Reloads:
        """The network's state, made by `make` when there is none (or it
        was closed)."""
        with self._lock:
            current = self._reloads.get(network_id)
            if current is None or current.closed:
                current = self._reloads[network_id] = make()
            return current

    def close(self, network_id: str) -> None:
        with self._lock:
            current = self._reloads.pop(network_id, None)
        if current is not None:
            current.close()
