"""What L2 agents ask of the plugin (ML2's RpcCallbacks): a device's
details, and its device going up or down.

A device is named by the agent: a tap (kaon.naming.tap: 'tap' + the port
id's first 11 characters) or a whole port id; the port is the one whose
id starts with what the name carries (linuxbridge's
get_port_from_device), none if several do.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from kaon.constants import DEVICE_OWNER_COMPUTE_PREFIX
from kaon.db.models import networks, ports
from kaon.plugin import l2pop, ports as port_dicts, provisioning, segments
from kaon.wire_l2 import DeviceDetails, FdbEntries, port_id_prefix


def find_port(conn: Connection, device: str, lock: bool = False) -> Any:
    """The port row a device names, or None (unknown, or ambiguous);
    `lock`: locked for the transaction, so that its binding and status
    cannot change under the caller."""
    prefix = port_id_prefix(device)
    if not prefix:
        return None
    stmt = select(ports).where(
        ports.c.id.startswith(prefix, autoescape=True)).limit(2)
    rows = conn.execute(stmt.with_for_update() if lock else stmt).all()
    return rows[0] if len(rows) == 1 else None


def device_details(conn: Connection, host: str,
                   device: str) -> DeviceDetails:
    """ML2's get_device_details: `{'device': name}` alone for a port
    unknown, unbound, or a compute port bound to another host."""
    row = find_port(conn, device)
    if row is None or not row.host or (
            row.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX)
            and row.host != host):
        return DeviceDetails(device=device)
    port = port_dicts.to_dicts(conn, [row])[0]
    segment = segments.attributes(conn, [row.network_id])[row.network_id]
    mtu = conn.execute(select(networks.c.mtu).where(
        networks.c.id == row.network_id)).scalar_one()
    return DeviceDetails(
        device=device, port_id=row.id, network_id=row.network_id,
        mac_address=row.mac_address, admin_state_up=row.admin_state_up,
        network_type=segment[segments.NETWORK_TYPE],
        segmentation_id=segment[segments.SEGMENTATION_ID],
        physical_network=segment[segments.PHYSICAL_NETWORK], mtu=mtu,
        fixed_ips=port['fixed_ips'], device_owner=row.device_owner,
        allowed_address_pairs=port['allowed_address_pairs'],
        port_security_enabled=port.get('port_security_enabled', True),
        qos_policy_id=None, network_qos_policy_id=None,
        profile=port['binding:profile'], propagate_uplink_status=False)


@dataclasses.dataclass(frozen=True)
class DeviceUp:
    port_id: str
    network_id: str
    wiring: l2pop.Wiring | None


def device_up(conn: Connection, host: str, device: str,
              refresh_tunnels: bool) -> DeviceUp | None:
    """The agent on `host` wired the device: its 'L2' block is done and
    its forwarding entries are due.  None: no such port, or bound to
    another host (ML2 ignores those too)."""
    row = find_port(conn, device, lock=True)
    if row is None or row.host != host:
        return None
    provisioning.complete(conn, [row.id], provisioning.L2_ENTITY)
    port = port_dicts.to_dicts(conn, [row])[0]
    return DeviceUp(row.id, row.network_id,
                    l2pop.wire(conn, port, host, refresh_tunnels))


@dataclasses.dataclass(frozen=True)
class DeviceDown:
    exists: bool
    network_id: str | None
    removed: FdbEntries | None


def device_down(conn: Connection, host: str, device: str) -> DeviceDown:
    """The device is gone from `host`: the port is DOWN if bound there,
    and its entries for that host are removed either way (ML2)."""
    row = find_port(conn, device, lock=True)
    if row is None:
        return DeviceDown(False, None, None)
    if row.host == host:
        provisioning.set_down(conn, row.id)
    return DeviceDown(True, row.network_id, l2pop.unwire(conn, row, host))
