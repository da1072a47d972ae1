"""One port's files in a network's dnsmasq directories: written when the
port is served, rewritten to `<mac>,ignore` when it no longer is.

The hot path of port events: each call costs O(1 port), never O(network).
Callers hold nothing; the network's Reloads lock is taken here.
"""
from __future__ import annotations

import logging
import os

from kaon.agent.linux import dnsmasq_files as files, dnsmasq_values as values
from kaon.agent.linux.dnsmasq_reloads import SET_TAG, Reloads
from kaon.agent.linux.dnsmasq_tree import KINDS
from kaon.wire import Port, Subnet

LOG = logging.getLogger(__name__)
Leases = set[tuple[str, str]]           # (mac, ip) to dhcp_release


def write_port(state: Reloads, port: Port, subnets: dict[str, Subnet],
               dns_domain: str) -> tuple[bool, Leases] | None:
    """Write one port's three files.  Returns whether dnsmasq needs a
    reload, and the (mac, ip) leases to release.

    A new file needs none.  A changed file does: dnsmasq only adds the
    new records, the old ones (an old IP, a dropped option) stay in
    memory until reloaded.  A changed IP is also released at once, else
    the old lease keeps that IP from the port that gets it next.
    None (nothing written, a warning logged) when a value of the port
    cannot be written safely: the caller stops serving it.
    """
    try:
        wanted = files.port_files(port, subnets, dns_domain)
    except values.Refused as err:
        LOG.warning('Network %s: port %r is not served by DHCP: %s',
                    state.network_id, port.get('id'), err)
        return None
    with state.lock:
        state.pending.discard(port['id'])
        # sync() reads each file once and hands back what it held.
        before = {kind: state.tree.sync(f"{kind}/{port['id']}",
                                        wanted[kind]) for kind in KINDS}
        old_host = before['host'] or ''
        track_tags(state, port['id'], old_host, wanted['host'])
    needs_reload = any(old and old != wanted[kind]
                       for kind, old in before.items())
    gone = files.host_pairs(old_host) - files.host_pairs(wanted['host'])
    return needs_reload, gone


def stop_serving(state: Reloads, port_id: object,
                 mac: object = None) -> Leases | None:
    """`<mac>,ignore` now (no reload needed); the files are deleted with
    the next reload.  Returns the (mac, ip) leases to release, None if the
    port was never served.  `port_id` and `mac` come from the wire
    unchecked: only a UUID ever named a file of ours."""
    if not isinstance(port_id, str) or not values.is_uuid(port_id):
        return None
    with state.lock:
        rels = [f'{kind}/{port_id}' for kind in KINDS]
        if not any(os.path.lexists(state.tree.path(r)) for r in rels):
            return None
        old = state.tree.read(rels[0])
        track_tags(state, port_id, old, '')
        macs = files.host_macs(old)
        if isinstance(mac, str) and values.is_mac(mac):
            macs.add(mac)
        state.tree.sync(rels[0], ''.join(
            values.line((m, 'ignore')) for m in sorted(macs)))
    return files.host_pairs(old)


def track_tags(state: Reloads, port_id: str, old: str, new: str) -> None:
    """Note host entries with set: (see Reloads): the old one may be in
    dnsmasq's memory, the new one will be."""
    if SET_TAG in new:
        state.tagged.add(port_id)
    else:
        state.tagged.discard(port_id)
    if SET_TAG in old or SET_TAG in new:
        state.tainted = True
