"""Per network: the coalesced dnsmasq reload, and the network's files.

Module-level state (see `state()`), because the agent may build a new
driver object for every call, as Neutron does.
"""
from __future__ import annotations

import collections
import logging
import signal
import threading
import time
from typing import Callable

from kaon.agent.linux.dnsmasq_tree import KINDS, Tree
from kaon.agent.linux.process import ProcessError, ProcessManager

LOG = logging.getLogger(__name__)

# SIGHUPs and reload-restarts per network (never reset): let tests prove a
# change was served through inotify alone.
SIGHUPS: collections.Counter[str] = collections.Counter()
RESTARTS: collections.Counter[str] = collections.Counter()
SET_TAG = ',set:'


class Reloads:
    """Per network: removed ports' files awaiting deletion and the one
    coalesced reload that follows (module-level: see state()).
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
                 interval: float) -> None:
        self.network_id = network_id
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
                    self.tree.remove(f'{kind}/{port_id}')
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


_reloads: dict[str, Reloads] = {}
_reloads_lock = threading.Lock()


def state(network_id: str, make: Callable[[], Reloads]) -> Reloads:
    """The network's state, made by `make` when there is none (or it was
    closed)."""
    with _reloads_lock:
        current = _reloads.get(network_id)
        if current is None or current.closed:
            current = _reloads[network_id] = make()
        return current


def close(network_id: str) -> None:
    with _reloads_lock:
        current = _reloads.pop(network_id, None)
    if current is not None:
        current.close()
