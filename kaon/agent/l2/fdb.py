"""l2population's forwarding entries on this host's VXLAN devices.

As Neutron's LinuxBridgeManager applies them (fdb_add / fdb_remove /
fdb_update): for each network this host has a VXLAN device for, each
other host's tunnel endpoint gets, for FLOODING_ENTRY, an appended
all-zeros entry (broadcast and unknown unicast go to every such host),
and for a port's [mac, ip] a replaced entry for the MAC (plus, with
arp_responder, a permanent neighbour entry for the IP).  Entries for
this host's own tunneling_ip are skipped.

A resync (agent start, or the server had lost it): the entries found on
the devices are remembered as stale; every entry the server announces
again is no longer stale; a while after the agent's refresh_tunnels
update of a network (when the server has sent that network's full table
to this host) what is still stale is deleted.  Nothing is flushed, so
traffic keeps flowing over the old entries meanwhile.
"""
from __future__ import annotations

import logging
import threading

from kaon.agent.linux import vxlan
from kaon.wire_l2 import FLOODING_ENTRY, FdbEntries

LOG = logging.getLogger(__name__)


class Forwarding:
    """The entries of this host's VXLAN devices; thread-safe."""

    def __init__(self, local_ip: str | None, arp_responder: bool) -> None:
        self.local_ip = local_ip
        self.arp_responder = arp_responder
        self._stale: dict[str, set[vxlan.Entry]] = {}   # device -> entries
        self._lock = threading.Lock()

    def add(self, device: str, peer: str, ports: list[list[str]]) -> None:
        """One peer's entries on `device`."""
        if peer == self.local_ip:
            return
        for mac, ip in ports:
            self._keep(device, (mac, peer))
            if mac == FLOODING_ENTRY[0]:
                vxlan.fdb_append(device, mac, peer)
                continue
            vxlan.fdb_replace(device, mac, peer)
            if self.arp_responder:
                vxlan.neigh_replace(device, ip, mac)

    def remove(self, device: str, peer: str, ports: list[list[str]]
               ) -> None:
        if peer == self.local_ip:
            return
        for mac, ip in ports:
            if mac != FLOODING_ENTRY[0] and self.arp_responder:
                vxlan.neigh_delete(device, ip, mac)
            vxlan.fdb_delete(device, mac, peer)

    def change_ip(self, device: str, peer: str, before: list[list[str]],
                  after: list[list[str]]) -> None:
        """update_fdb_entries' chg_ip: a port's addresses changed (its
        MAC did not), so only the ARP proxy's entries change."""
        if peer == self.local_ip or not self.arp_responder:
            return
        for mac, ip in before:
            vxlan.neigh_delete(device, ip, mac)
        for mac, ip in after:
            vxlan.neigh_replace(device, ip, mac)

    # Resync.
    def mark_stale(self, devices: list[str]) -> None:
        """Remember every entry now on `devices` as stale."""
        found = {device: vxlan.fdb_entries(device) for device in devices}
        with self._lock:
            self._stale = {d: entries for d, entries in found.items()
                           if entries}

    def _keep(self, device: str, entry: vxlan.Entry) -> None:
        with self._lock:
            self._stale.get(device, set()).discard(entry)

    def sweep(self, device: str) -> int:
        """Delete what is still stale on `device`; how many."""
        with self._lock:
            stale = self._stale.pop(device, set())
        for mac, peer in sorted(stale):
            vxlan.fdb_delete(device, mac, peer)
        if stale:
            LOG.info('resync: removed %d forwarding entries of %s the '
                     'server no longer lists', len(stale), device)
        return len(stale)

    def applicable(self, entries: FdbEntries, devices: dict[str, str]
                   ) -> list[tuple[str, str, list[list[str]]]]:
        """(device, peer, ports) for the networks of `entries` that this
        host has a VXLAN device for (`devices`: network id -> device)."""
        return [(devices[network_id], peer, ports)
                for network_id, fdb in entries.items()
                if network_id in devices
                for peer, ports in fdb['ports'].items()]
