"""The L2 agent's loop: taps seen -> asked about -> wired -> reported.

Neutron's linuxbridge agent (CommonAgentLoop) with kaon's event-driven
discovery (kaon.agent.l2.devices).  A pass takes the taps that appeared
(from events at once, from the full rescan every polling_interval),
asks the server about them in one batch
(get_devices_details_list_and_failed_devices), wires each bound one
(kaon.agent.l2.bridges) and reports them in one update_device_list.
Taps that went are reported down, and a bridge left without taps goes
with its uplink.  A device the server answers only with {'device': name}
(unknown, or bound to another host) and a failed one are asked about
again at the next rescan, or at once on a port_update of its port.

refresh_tunnels is set on the first update of each network after a full
sync (the agent's start, or the server had lost it): l2population then
sends this host the network's whole table, and the entries the server no
longer lists are swept (kaon.agent.l2.fdb).

A failure is logged, counted in `status` and retried: a failed pass by
the next rescan, a cast that could not be applied by a full sync.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol, TypedDict

from pyroute2.netlink.exceptions import NetlinkError

from kaon import naming
from kaon.agent.backoff import Backoff
from kaon.agent.l2 import devices
from kaon.agent.l2.bridges import Segment, Wiring, WiringError
from kaon.agent.l2.fdb import Forwarding
from kaon.agent.linux import ip_lib, vxlan
from kaon.rpc.l2_agent_api import FdbUpdate
from kaon.wire import Port
from kaon.wire_l2 import DeviceListUpdate, DevicesDetails, FdbEntries

LOG = logging.getLogger(__name__)
# Seconds after a refresh_tunnels update before the entries the server
# did not announce again are deleted: the server answers that update by
# casting the network's whole table to this host, which takes it
# milliseconds; an entry deleted too early would only come back.
FDB_RESYNC_GRACE = 5.0
KERNEL_ERRORS = (WiringError, OSError, NetlinkError)
RETRY_CAP = 60.0    # seconds: a tap that fails to be wired, at the most


class L2Server(Protocol):
    """The server's side (kaon.rpc.l2_agent_api.L2PluginApi)."""

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str]) -> DevicesDetails: ...

    def update_device_list(self, devices_up: list[str],
                           devices_down: list[str],
                           refresh_tunnels: bool = False
                           ) -> DeviceListUpdate: ...


class L2Status(TypedDict):
    """What the agent tells about itself (its status file)."""
    devices: int                # taps wired and reported up
    networks: int               # networks with a bridge here
    retrying: list[str]         # taps to ask about again
    failures: int               # passes, taps and casts that failed, ever
    last_error: str | None      # None once a rescan succeeded again


class L2Agent:
    def __init__(self, server: L2Server, wiring: Wiring,
                 forwarding: Forwarding) -> None:
        self.server = server
        self.wiring = wiring
        self.forwarding = forwarding
        self._lock = threading.RLock()      # kernel state and the maps
        self.wired: dict[str, Segment] = {}     # tap -> its network
        self.networks: dict[str, Segment] = {}  # network id -> segment
        self.retry: set[str] = set()
        # Taps whose wiring failed: retried by rescans, backing off.
        self._backoff = Backoff(cap=RETRY_CAP)
        # Failed passes (server away) back the rescans off; the taps to
        # ask about again are held for the next one.
        self._pass_backoff = Backoff(cap=RETRY_CAP)
        self._held: set[str] = set()
        self._refreshed: set[str] = set()       # networks since full sync
        self._sweeps: dict[str, float] = {}     # VXLAN device -> when
        self._down: set[str] = set()            # to report down still
        # Filled from any thread, taken by the loop.
        self._wakeup = threading.Condition()
        self._pending: set[str] = set()         # events: maybe new
        self._recheck: set[str] = set()         # ask the server again
        self._gone: set[str] = set()
        self._rescan = True
        self.status = L2Status(devices=0, networks=0, retrying=[],
                               failures=0, last_error=None)

    # -- inputs (any thread) -------------------------------------------------
    def tap_event(self, name: str, present: bool) -> None:
        """A link event: a tap appeared (or changed) or went."""
        with self._wakeup:
            known = name in self.wired or name in self.retry
            if present and not known:
                self._pending.add(name)
            elif not present:
                self._gone.add(name)
            else:
                return
            self._wakeup.notify()

    def request_rescan(self) -> None:
        with self._wakeup:
            self._rescan = True
            self._wakeup.notify()

    def full_sync(self) -> None:
        """Every tap is new again, every network refreshed, every entry
        stale until the server lists it again."""
        links = ip_lib.links()
        self.forwarding.mark_stale(
            [n for n, link in links.items()
             if link.kind == 'vxlan' and n.startswith(vxlan.PREFIX)])
        with self._wakeup:
            self._refreshed.clear()
            self._recheck |= set(devices.taps(links))
            self._rescan = True
            self._wakeup.notify()

    def failed(self, what: str) -> None:
        LOG.error('l2 agent: %s', what)
        self.status['failures'] += 1
        self.status['last_error'] = what

    # -- the loop ------------------------------------------------------------
    def run(self, stop: threading.Event, interval: float) -> None:
        """Passes until `stop` (then call wake())."""
        next_scan = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_scan:
                self.request_rescan()
                next_scan = now + interval
            if not self.run_pass():
                # The server or broker away: the next rescan backs off.
                next_scan = time.monotonic() + self._pass_backoff.failed(
                    'pass', self.status['last_error'] or '',
                    time.monotonic()).delay
            else:
                self._pass_backoff.succeeded('pass')
            self._sweep_due()
            timeout = min([next_scan, *self._sweeps.values()]) - \
                time.monotonic()
            with self._wakeup:
                self._wakeup.wait_for(
                    lambda: self._pending or self._recheck or self._gone
                    or self._rescan or stop.is_set(),
                    timeout=max(timeout, 0))

    def wake(self) -> None:
        with self._wakeup:
            self._wakeup.notify_all()

    def run_pass(self) -> bool:
        """One pass; False if it failed (its taps are taken up again by
        the next rescan)."""
        with self._wakeup:
            pending, recheck = self._pending, self._recheck
            gone, rescan = self._gone, self._rescan
            self._pending, self._recheck = set(), set()
            self._gone, self._rescan = set(), False
        if rescan:
            recheck |= self._held
            self._held = set()
        try:
            links = ip_lib.links()
            present = devices.taps(links)
            self._forget_gone(present)
            # An event may be of our own wiring: only the unwired count.
            unwired = self._unwired(links, present)
            now = time.monotonic()
            pending = {t for t in unwired if self._backoff.may_try(t, now)
                       } if rescan else pending & unwired
            if rescan:
                gone |= set(self.wired) - set(present)
            self._report_down((gone & set(self.wired)) - set(present))
            self._wire((pending | recheck) & set(present))
        except Exception as err:  # noqa: BLE001 - retried by the rescan
            self.failed(f'pass failed: {type(err).__name__}: {err}')
            self._held |= recheck
            return False
        finally:
            self._update_status()
        if rescan and not self._backoff.failing():
            self.status['last_error'] = None
        return True

    def _forget_gone(self, present: dict[str, ip_lib.Link]) -> None:
        self.retry &= set(present)
        for tap in set(self._backoff.failing()) - set(present):
            self._backoff.forget(tap)

    def _unwired(self, links: dict[str, ip_lib.Link],
                 present: dict[str, ip_lib.Link]) -> set[str]:
        """Taps not wired yet (retries too), and wired ones someone took
        off their bridge."""
        moved = set()
        for tap, segment in self.wired.items():
            bridge = links.get(self.wiring.bridge(segment.network_id))
            if tap in present and (bridge is None or
                                   present[tap].master != bridge.index):
                moved.add(tap)
        return (set(present) - set(self.wired)) | moved

    # -- taps that came ------------------------------------------------------
    def _wire(self, taps: set[str]) -> None:
        if not taps:
            return
        answer = self.server.get_devices_details_list_and_failed_devices(
            sorted(taps))
        asked_before = self.retry & taps
        self.retry -= taps
        if answer['failed_devices']:
            self.retry |= set(answer['failed_devices'])
            LOG.warning('server failed to detail %s; retrying',
                        answer['failed_devices'])
        up: list[str] = []
        down: list[str] = []
        for details in answer['devices']:
            tap = details['device']
            if 'network_id' not in details:
                if tap not in asked_before:     # said once, not per rescan
                    LOG.info('device %s is not bound here (unknown to the '
                             'server, or bound to another host); asking '
                             'again at each rescan', tap)
                with self._lock:
                    self.wired.pop(tap, None)
                self.retry.add(tap)
                continue
            segment = Segment.of(details)
            admin_up = details.get('admin_state_up', True)
            try:
                with self._lock:
                    self.wiring.wire(tap, segment, admin_up)
                    self.wired[tap] = segment
                    self.networks[segment.network_id] = segment
            except KERNEL_ERRORS as err:
                streak = self._backoff.failed(tap, str(err),
                                              time.monotonic())
                self.failed(f'wiring {tap} into network '
                            f'{segment.network_id}: {err} (attempt '
                            f'{streak.attempts}, next in {streak.delay:.0f}'
                            ' s)')
                self.retry.add(tap)
                continue
            self._backoff.succeeded(tap)
            (up if admin_up else down).append(tap)
        try:
            self._report_up(up, down)
        except Exception:
            # Not reported: unwired again, so the next rescan retries.
            with self._lock:
                for tap in up + down:
                    self.wired.pop(tap, None)
            raise

    def _report_up(self, up: list[str], down: list[str]) -> None:
        if not up and not down:
            return
        networks = {self.wired[t].network_id for t in up}
        refresh = bool(networks - self._refreshed)
        result = self.server.update_device_list(up, down,
                                                refresh_tunnels=refresh)
        failed = set(result['failed_devices_up'] +
                     result['failed_devices_down'])
        if failed:
            LOG.warning('server failed to set %s up/down; retrying',
                        sorted(failed))
            with self._lock:
                for tap in failed:
                    self.wired.pop(tap, None)
            self.retry |= failed
        if refresh:
            self._refreshed |= networks
            self._schedule_sweeps(networks)
        LOG.info('devices up %s, down %s (refresh_tunnels %s)', up, down,
                 refresh)

    def _schedule_sweeps(self, networks: set[str]) -> None:
        due = time.monotonic() + FDB_RESYNC_GRACE
        for network_id in networks:
            device = self.wiring.vxlan_device(self.networks[network_id])
            if device is not None:
                self._sweeps[device] = due

    def _sweep_due(self) -> None:
        now = time.monotonic()
        for device, due in list(self._sweeps.items()):
            if due <= now:
                del self._sweeps[device]
                try:
                    with self._lock:
                        self.forwarding.sweep(device)
                except KERNEL_ERRORS as err:
                    self.failed(f'resync of {device}: {err}')

    # -- taps that went ------------------------------------------------------
    def _report_down(self, gone: set[str]) -> None:
        with self._lock:
            segments = {self.wired.pop(tap) for tap in gone}
            self.retry -= gone
        left = {s.network_id for s in self.wired.values()}
        for segment in segments:
            if segment.network_id not in left:
                self._remove_network(segment.network_id)
        # Kept until the server has them (a failed call is retried).
        self._down |= gone
        if self._down:
            down = sorted(self._down)
            self.server.update_device_list([], down)
            self._down.clear()
            LOG.info('devices down %s', down)

    def _remove_network(self, network_id: str, force: bool = False
                        ) -> None:
        with self._lock:
            if self.wiring.remove_network(network_id, force):
                self.networks.pop(network_id, None)
                self._refreshed.discard(network_id)

    # -- casts (RPC threads) -------------------------------------------------
    def _vxlan_devices(self) -> dict[str, str]:
        """network id -> its VXLAN device, for the networks wired here."""
        with self._lock:
            return {n: d for n, s in self.networks.items()
                    if (d := self.wiring.vxlan_device(s)) is not None}

    def add_fdb_entries(self, fdb_entries: FdbEntries) -> None:
        self._cast('add_fdb_entries',
                   lambda: self._each(fdb_entries, self.forwarding.add))

    def remove_fdb_entries(self, fdb_entries: FdbEntries) -> None:
        self._cast('remove_fdb_entries',
                   lambda: self._each(fdb_entries, self.forwarding.remove))

    def _each(self, fdb_entries: FdbEntries,
              apply: Callable[[str, str, list[list[str]]], None]) -> None:
        for entry in self.forwarding.applicable(fdb_entries,
                                                self._vxlan_devices()):
            apply(*entry)

    def update_fdb_entries(self, fdb_entries: FdbUpdate) -> None:
        def apply() -> None:
            devices_here = self._vxlan_devices()
            for network_id, peers in fdb_entries.get('chg_ip', {}).items():
                device = devices_here.get(network_id)
                for peer, change in peers.items():
                    if device is not None:
                        self.forwarding.change_ip(
                            device, peer, change.get('before', []),
                            change.get('after', []))
        self._cast('update_fdb_entries', apply)

    def port_update(self, port: Port) -> None:
        """Ask about the port's tap again (its binding or state changed)."""
        self._ask_again(naming.tap(port['id']))

    def port_delete(self, port_id: str) -> None:
        self._ask_again(naming.tap(port_id))

    def _ask_again(self, tap: str) -> None:
        with self._wakeup:
            self.retry.discard(tap)
            self._recheck.add(tap)
            self._wakeup.notify()

    def network_delete(self, network_id: str) -> None:
        LOG.info('network %s deleted: removing its bridge', network_id)

        def apply() -> None:
            with self._lock:
                # Its taps are stale (the server deletes a network only
                # with its ports): not wired again unless the server
                # says so at a rescan.
                for tap, segment in list(self.wired.items()):
                    if segment.network_id == network_id:
                        del self.wired[tap]
                        self.retry.add(tap)
                self._remove_network(network_id, force=True)
        self._cast('network_delete', apply)

    def _cast(self, name: str, apply: Callable[[], object]) -> None:
        """Apply a cast; a failure is reported and repaired by a full
        sync (the server sends the whole table again)."""
        try:
            with self._lock:
                apply()
        except KERNEL_ERRORS as err:
            self.failed(f'{name}: {err}')
            self.full_sync()

    def _update_status(self) -> None:
        with self._lock:
            self.status['devices'] = len(self.wired)
            self.status['networks'] = len(self.networks)
            self.status['retrying'] = sorted(self.retry)
