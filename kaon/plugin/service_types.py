"""subnet-service-types: which subnets a port's addresses may come from.

As Neutron's Subnet.find_candidate_subnets: a port with device_owner X may
take addresses from the network's subnets that list no service type or
list X, and a DHCP port from any DHCP-enabled subnet; subnets that list
types come first (Neutron's _ipam_get_subnets gives them priority), each
group in creation order.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Row

from kaon import exceptions as exc
from kaon.constants import DEVICE_OWNER_DHCP
from kaon.db.models import subnet_service_types as types_table, subnets
from kaon.plugin import common


def store(conn: Connection, subnet_id: str, types: list[str]) -> None:
    conn.execute(delete(types_table).where(
        types_table.c.subnet_id == subnet_id))
    if types:
        conn.execute(insert(types_table), [
            {'subnet_id': subnet_id, 'service_type': t} for t in types])


def load(conn: Connection, subnet_ids: list[str]) -> dict[str, list[str]]:
    """Each subnet's service types, in name order."""
    rows = common.rows_by(conn, types_table, 'subnet_id', subnet_ids,
                          types_table.c.service_type)
    return {i: [r.service_type for r in found] for i, found in rows.items()}


def _serves(subnet: Any, types: list[str], device_owner: str) -> bool:
    return not types or device_owner in types or (
        device_owner == DEVICE_OWNER_DHCP and bool(subnet.enable_dhcp))


def candidates(conn: Connection, network_id: str, device_owner: str,
               required: bool) -> list[Row[Any]]:
    """The network's subnets a port with `device_owner` may use.

    `required` (a port asking for no particular subnet): if the network
    has subnets but none serves the port, Neutron's 409
    IpAddressGenerationFailureNoMatchingSubnet rather than a port with no
    address.
    """
    rows = list(conn.execute(select(subnets).where(
        subnets.c.network_id == network_id)
        .order_by(subnets.c.created_at, subnets.c.id)))
    types = load(conn, [r.id for r in rows])
    usable = [r for r in rows if _serves(r, types[r.id], device_owner)]
    if required and rows and not usable:
        raise exc.IpAddressGenerationFailureNoMatchingSubnet(
            network_id=network_id, service_type=device_owner)
    return sorted(usable, key=lambda r: not types[r.id])
