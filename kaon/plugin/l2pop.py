"""l2population's forwarding entries (Neutron's l2pop mechanism driver
and l2pop_db), from the ports L2 agents reported wired.

The entries of a network N: for every host H where an L2 agent wired a
port of N, {tunneling_ip(H): [FLOODING_ENTRY] + [[mac, ip] for each
fixed IP of each such port]} -- unicast head-end replication, no
multicast.  Only vxlan segments have entries.  Who hears what:

* a port wired on H: a fanout adds its entries (with H's flooding entry
  when it is H's first port of N); when it is H's first port of N, or
  H's agent restarted (its start_flag report is newer than anything it
  wired on N) or asks for it (refresh_tunnels), H gets every other host's
  entries for N cast to it alone;
* a port unwired on H (device down), deleted, moved to another host, or
  its network deleted: a fanout removes its entries (and H's flooding
  entry when H has no port of N left).

An agent that dies keeps its entries on the other hosts, as in Neutron:
nothing removes them until its ports go down, move or are deleted.

Each wired port has a row (kaon.db.models.l2pop_ports) that outlives its
port or network: reconcile() turns the rows whose port is gone or bound
elsewhere into removals, so that whichever change orphaned them, and in
whichever process, the removal is computed once, from the rows.  All of a
network's changes hold its lock (kaon.db.locks), so the "first port" and
"last port" of a host are decided one at a time.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from kaon.db import locks
from kaon.db.models import l2pop_ports as wired, ports
from kaon.plugin import l2_hosts, segments
from kaon.scheduler.liveness import utc_now
from kaon.wire_l2 import FLOODING_ENTRY, FdbEntries, NetworkFdb

LOG = logging.getLogger(__name__)
VXLAN = 'vxlan'


@dataclasses.dataclass(frozen=True)
class Wiring:
    """What a port wired on a host makes the server cast: entries to
    remove (a move it replaces), to add everywhere, and the full table
    for the host alone (None: nothing to cast)."""
    removed: FdbEntries | None
    added: FdbEntries | None
    full: FdbEntries | None


def port_entries(mac: str, ips: Iterable[str]) -> list[list[str]]:
    """A port's entries: Neutron's PortInfo(mac, ip) serialised as lists."""
    return [[mac, ip] for ip in ips]


def _lock(conn: Connection, network_id: str) -> None:
    locks.hold(conn, f'l2pop:{network_id}')


def _fdb(network_id: str, segment_id: int | None,
         by_ip: dict[str, list[list[str]]]) -> FdbEntries | None:
    if not by_ip:
        return None
    return {network_id: NetworkFdb(segment_id=segment_id, network_type=VXLAN,
                                   ports=by_ip)}


def _rows(conn: Connection, network_id: str) -> tuple[list[Any], list[Any]]:
    """The network's rows, split into live ones (their port is bound to
    the row's host still) and orphans."""
    rows = conn.execute(select(wired, ports.c.host.label('bound_host'))
                        .outerjoin(ports, ports.c.id == wired.c.port_id)
                        .where(wired.c.network_id == network_id)).all()
    live = [r for r in rows if r.bound_host == r.host]
    return live, [r for r in rows if r.bound_host != r.host]


def _removal(conn: Connection, network_id: str, gone: list[Any],
             live: list[Any]) -> FdbEntries | None:
    """Remove the `gone` rows' entries, and the flooding entry of each
    of their hosts left with no live row."""
    if not gone:
        return None
    ips = l2_hosts.tunneling_ips(conn, (r.host for r in gone))
    still = {r.host for r in live}
    by_ip: dict[str, list[list[str]]] = defaultdict(list)
    for row in gone:
        if row.host not in ips:
            LOG.warning('l2pop: no tunneling_ip for host %s, entries of '
                        'port %s not removed', row.host, row.port_id)
            continue
        by_ip[ips[row.host]] += port_entries(row.mac_address,
                                             json.loads(row.ip_addresses))
    for host in {r.host for r in gone} - still:
        if host in ips:
            by_ip[ips[host]].insert(0, FLOODING_ENTRY)
    return _fdb(network_id, gone[0].segmentation_id, dict(by_ip))


def has_wired(conn: Connection, network_id: str) -> bool:
    """Whether any port of the network was reported wired (a read, to
    spare networks without L2 agents -- the one-host case -- a write)."""
    return conn.execute(select(wired.c.port_id).where(
        wired.c.network_id == network_id).limit(1)).first() is not None


def reconcile(conn: Connection, network_id: str) -> FdbEntries | None:
    """Forget the network's rows whose port was deleted or bound to
    another host (or whose network is gone); what to remove."""
    _lock(conn, network_id)
    live, orphans = _rows(conn, network_id)
    _forget(conn, orphans)
    return _removal(conn, network_id, orphans, live)


def _forget(conn: Connection, rows: list[Any]) -> None:
    for row in rows:
        conn.execute(delete(wired).where(wired.c.port_id == row.port_id,
                                         wired.c.host == row.host))


def unwire(conn: Connection, port: Any, host: str) -> FdbEntries | None:
    """The port's device went down on `host`: what to remove."""
    _lock(conn, port.network_id)
    live, _ = _rows(conn, port.network_id)
    gone = [r for r in live if r.port_id == port.id and r.host == host]
    _forget(conn, gone)
    return _removal(conn, port.network_id, gone,
                    [r for r in live if r not in gone])


def _full_table(conn: Connection, network_id: str, segment_id: int | None,
                live: list[Any], exclude_ip: str) -> FdbEntries | None:
    """Every host's entries for the network but the one at exclude_ip."""
    ips = l2_hosts.tunneling_ips(conn, (r.host for r in live))
    by_ip: dict[str, list[list[str]]] = {}
    for row in live:
        ip = ips.get(row.host)
        if ip is None or ip == exclude_ip:
            continue
        by_ip.setdefault(ip, [FLOODING_ENTRY])
        by_ip[ip] += port_entries(row.mac_address,
                                  json.loads(row.ip_addresses))
    return _fdb(network_id, segment_id, by_ip)


def wire(conn: Connection, port: dict[str, Any], host: str,
         refresh: bool) -> Wiring | None:
    """The port's device is up on `host` (its bound host): record it and
    say what to cast.  None: the network has no entries (not vxlan) or
    the host's agent reports no tunnel endpoint."""
    network_id = port['network_id']
    segment = segments.attributes(conn, [network_id])[network_id]
    if segment[segments.NETWORK_TYPE] != VXLAN:
        return None
    ip = l2_hosts.tunneling_ips(conn, [host]).get(host)
    if ip is None:
        LOG.warning('l2pop: the L2 agent on %s reports no tunneling_ip; '
                    'no forwarding entries for port %s', host, port['id'])
        return None
    _lock(conn, network_id)
    live, orphans = _rows(conn, network_id)
    _forget(conn, orphans)
    removed = _removal(conn, network_id, orphans, live)
    here = [r for r in live if r.host == host]
    started = l2_hosts.started_at(conn, host)
    restarted = started is not None and all(r.wired_at < started
                                            for r in here)
    # First: nothing of N wired on the host yet (a port reported again
    # is not; a restart or refresh_tunnels asks for the table then).
    full_sync = not here or refresh or restarted
    segment_id = segment[segments.SEGMENTATION_ID]
    _record(conn, port, host, segment_id, any(r.port_id == port['id']
                                              for r in here))
    mine = port_entries(port['mac_address'],
                        [a['ip_address'] for a in port['fixed_ips']])
    added = _fdb(network_id, segment_id,
                 {ip: ([FLOODING_ENTRY] if full_sync else []) + mine}
                 if full_sync or mine else {})
    full = _full_table(conn, network_id, segment_id, live, ip) \
        if full_sync else None
    return Wiring(removed, added, full)


def _record(conn: Connection, port: dict[str, Any], host: str,
            segment_id: int | None, known: bool) -> None:
    values = {'network_id': port['network_id'], 'host': host,
              'segmentation_id': segment_id,
              'mac_address': port['mac_address'],
              'ip_addresses': json.dumps(
                  [a['ip_address'] for a in port['fixed_ips']]),
              'wired_at': utc_now()}
    if known:
        conn.execute(update(wired).where(wired.c.port_id == port['id'])
                     .values(**values))
    else:
        conn.execute(insert(wired).values(port_id=port['id'], **values))
