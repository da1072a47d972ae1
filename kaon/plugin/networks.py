"""Networks: rows, visibility and the delete rules."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.constants import DEVICE_OWNER_DHCP, IPV6_MIN_MTU
from kaon.context import Context
from kaon.db.models import ip_allocations, networks, ports, subnets
from kaon.plugin import common, port_security, quotas, security_groups
from kaon.plugin.query import ListQuery, select_page, where_clauses


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own networks and shared or external ones."""
    if ctx.is_admin:
        return []
    return [or_(networks.c.project_id == ctx.project_id,
                networks.c.shared.is_(True), networks.c.external.is_(True))]


def _by_subnet(table: Any, values: list[Any]) -> Any:
    return table.c.id.in_(select(subnets.c.network_id)
                          .where(subnets.c.id.in_(values)))


SPECIAL_FILTERS = {'subnets': _by_subnet,
                   'port_security_enabled': port_security.BY_NETWORK}


def list_networks(conn: Connection, ctx: Context,
                  query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(networks, query.filters, SPECIAL_FILTERS)
    rows = select_page(conn, networks, query, clauses + visible(ctx))
    return _to_dicts(conn, rows)


def _to_dicts(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    subnet_rows = common.rows_by(conn, subnets, 'network_id', ids,
                                 subnets.c.created_at, subnets.c.id)
    tags = common.load_tags(conn, ids)
    psec = port_security.network_values(conn, ids)
    result = []
    for row in rows:
        net = common.row_to_dict(row)
        net['subnets'] = [s.id for s in subnet_rows[row.id]]
        net['tags'] = tags[row.id]
        net['port_security_enabled'] = psec[row.id]
        result.append(net)
    return result


def get_row(conn: Connection, ctx: Context, net_id: str,
            for_update: bool = False) -> Any:
    return common.visible_row(conn, networks, 'network', net_id,
                              visible(ctx), for_update)


def get_network(conn: Connection, ctx: Context,
                net_id: str) -> dict[str, Any]:
    return _to_dicts(conn, [get_row(conn, ctx, net_id)])[0]


def owners(conn: Connection, ctx: Context,
           net_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What the network-owner policy rules read, for the visible ones."""
    cols = (networks.c.id, networks.c.project_id, networks.c.shared,
            networks.c.external)
    rows = conn.execute(select(*cols).where(networks.c.id.in_(net_ids),
                                            *visible(ctx)))
    return {r.id: {'project_id': r.project_id, 'shared': r.shared,
                   'router:external': r.external} for r in rows}


def create_networks(conn: Connection, ctx: Context,
                    bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    security_groups.ensure_defaults(conn, ctx,
                                    (b['project_id'] for b in bodies))
    quotas.enforce_bodies(conn, 'network', bodies)
    ids = []
    for body in bodies:
        values = common.column_values(networks, body)
        values.update(id=common.new_id(), status='ACTIVE',
                      **common.standard_attrs(body))
        conn.execute(insert(networks), values)
        port_security.set_network(conn, values['id'], body, new=True)
        common.set_tags(conn, values['id'], body.get('tags', ()), new=True)
        ids.append(values['id'])
    return [get_network(conn, ctx, net_id) for net_id in ids]


def check_mtu(net_id: str, mtu: int, ip_versions: Iterable[int]) -> None:
    """409 when a network would carry IPv6 below IPv6's minimum MTU (the
    kernel drops IPv6 from such a link, and dnsmasq with it)."""
    if mtu < IPV6_MIN_MTU and 6 in ip_versions:
        raise exc.NetworkMTUSubnetConflict(net_id=net_id, mtu=IPV6_MIN_MTU)


def update_network(conn: Connection, ctx: Context, net_id: str,
                   body: dict[str, Any]) -> None:
    # The row lock orders this against subnet creation, which takes it too.
    row = get_row(conn, ctx, net_id, for_update=True)
    if body.get('mtu') is not None and body['mtu'] < IPV6_MIN_MTU:
        check_mtu(net_id, body['mtu'], conn.execute(
            select(subnets.c.ip_version).where(
                subnets.c.network_id == net_id).distinct()).scalars())
    values = common.column_values(networks, body)
    values.update(common.bumped(row))
    conn.execute(update(networks).where(networks.c.id == net_id)
                 .values(**values))
    if 'tags' in body:
        common.set_tags(conn, net_id, body['tags'])
    port_security.set_network(conn, net_id, body, new=False)


def delete_network(conn: Connection, ctx: Context, net_id: str) -> list[str]:
    """Delete a network with its DHCP ports; 409 while other ports exist.

    Returns the ids of the DHCP ports removed with it.
    """
    get_row(conn, ctx, net_id, for_update=True)  # 404, and the row lock
    port_rows = conn.execute(select(ports.c.id, ports.c.device_owner).where(
        ports.c.network_id == net_id)).all()
    if any(p.device_owner != DEVICE_OWNER_DHCP for p in port_rows):
        raise exc.NetworkInUse(net_id=net_id)
    dhcp_ids = [p.id for p in port_rows]
    subnet_ids = list(conn.execute(select(subnets.c.id).where(
        subnets.c.network_id == net_id)).scalars())
    conn.execute(delete(ip_allocations).where(
        ip_allocations.c.network_id == net_id))
    conn.execute(delete(ports).where(ports.c.network_id == net_id))
    conn.execute(delete(subnets).where(subnets.c.network_id == net_id))
    conn.execute(delete(networks).where(networks.c.id == net_id))
    common.drop_tags(conn, [net_id, *subnet_ids, *dhcp_ids])
    return dhcp_ids
