"""A port's allowed address pairs (Neutron's AllowedAddressPairsMixin).

The API validated the list; here a pair without a MAC gets the port's
(as stored: a later MAC change leaves it), and the list replaces the
port's.  Port security's rule -- no pairs on a port without port
security -- is checked with has_address_pairs.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.db.models import allowed_address_pairs as pairs_table
from kaon.plugin import common

Pair = dict[str, str]


def has_address_pairs(port: Mapping[str, Any]) -> bool:
    """Whether a port, or a create/update body, carries pairs (an update
    body's [] or null clears them)."""
    return bool(port.get('allowed_address_pairs'))


def replace(conn: Connection, port_id: str, port_mac: str,
            pairs: list[Pair], new: bool = False) -> list[Pair]:
    """Store `pairs` as the port's; returns them as the port shows them.
    Two pairs equal once the port's MAC is filled in are a duplicate
    (Neutron's answer to the same row twice)."""
    if not new:
        conn.execute(delete(pairs_table).where(
            pairs_table.c.port_id == port_id))
    rows, seen = [], set()
    for pair in pairs:
        key = (pair.get('mac_address') or port_mac, pair['ip_address'])
        if key in seen:
            raise exc.DuplicateAddressPairInRequest(mac_address=key[0],
                                                    ip_address=key[1])
        seen.add(key)
        rows.append({'port_id': port_id, 'mac_address': key[0],
                     'ip_address': key[1]})
    if rows:
        conn.execute(insert(pairs_table), rows)
    return [{'mac_address': r['mac_address'], 'ip_address': r['ip_address']}
            for r in rows]


def load(conn: Connection, port_ids: list[str]) -> dict[str, list[Pair]]:
    """The pairs of many ports, in one query per chunk of ids."""
    grouped = common.rows_by(conn, pairs_table, 'port_id', port_ids,
                             pairs_table.c.mac_address,
                             pairs_table.c.ip_address)
    return {i: [{'mac_address': r.mac_address, 'ip_address': r.ip_address}
                for r in rows] for i, rows in grouped.items()}
