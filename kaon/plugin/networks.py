"""Networks: rows, visibility and the delete rules."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import delete, insert, or_, select, union, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.constants import (
    DEVICE_OWNER_DHCP,
    DEVICE_OWNER_NETWORK_PREFIX,
    IPV6_MIN_MTU,
)
from kaon.context import Context
from kaon.db.models import ip_allocations, networks, ports, subnets
from kaon.plugin import (
    common,
    port_security,
    quotas,
    rbac,
    security_groups,
    segments,
)
from kaon.plugin.query import ListQuery, select_page, where_clauses

# RFC 791: every IPv4 module must take a 68-octet datagram unfragmented
# (neutron_lib.constants.IPV4_MIN_MTU).
IPV4_MIN_MTU = 68

OBJECT_TYPE = 'network'


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own networks, external ones, and those an RBAC
    policy shares with them ('*' or their project)."""
    if ctx.is_admin:
        return []
    return [or_(networks.c.project_id == ctx.project_id,
                rbac.shared_for(networks, OBJECT_TYPE, ctx.project_id),
                networks.c.external.is_(True))]


def shared_with(project_id: str) -> Any:
    """The ids of the networks shared with the project (subnets' rules)."""
    return select(networks.c.id).where(
        rbac.shared_for(networks, OBJECT_TYPE, project_id))


def _by_subnet(table: Any, values: list[Any]) -> Any:
    return table.c.id.in_(select(subnets.c.network_id)
                          .where(subnets.c.id.in_(values)))


SPECIAL_FILTERS = {'subnets': _by_subnet, **segments.FILTERS,
                   'port_security_enabled': port_security.BY_NETWORK}


def list_networks(conn: Connection, ctx: Context,
                  query: ListQuery) -> list[dict[str, Any]]:
    def by_shared(table: Any, values: list[Any]) -> Any:
        return rbac.matching(
            rbac.shared_for(table, OBJECT_TYPE, ctx.project_id), values)
    clauses = where_clauses(networks, query.filters,
                            {**SPECIAL_FILTERS, 'shared': by_shared})
    rows = select_page(conn, networks, query, clauses + visible(ctx))
    return _to_dicts(conn, ctx, rows)


def _to_dicts(conn: Connection, ctx: Context,
              rows: list[Any]) -> list[dict[str, Any]]:
    """`shared` as the caller sees it: '*' (the row's cached column) or a
    policy naming the caller's project."""
    ids = [r.id for r in rows]
    subnet_rows = common.rows_by(conn, subnets, 'network_id', ids,
                                 subnets.c.created_at, subnets.c.id)
    tags = common.load_tags(conn, ids)
    provider = segments.attributes(conn, ids)
    mine = rbac.shared_ids(conn, OBJECT_TYPE, ctx.project_id)
    psec = port_security.network_values(conn, ids)
    result = []
    for row in rows:
        net = common.row_to_dict(row)
        net.update(provider[row.id])
        net['shared'] = row.shared or row.id in mine
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
    return _to_dicts(conn, ctx, [get_row(conn, ctx, net_id)])[0]


def owners(conn: Connection, ctx: Context,
           net_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What the network-owner policy rules read, for the visible ones;
    `shared` as ctx's project sees it (an admin context carrying the
    caller's project judges a caller's request)."""
    cols = (networks.c.id, networks.c.project_id, networks.c.external,
            rbac.shared_for(networks, OBJECT_TYPE,
                            ctx.project_id).label('shared'))
    rows = conn.execute(select(*cols).where(networks.c.id.in_(net_ids),
                                            *visible(ctx)))
    return {r.id: {'project_id': r.project_id, 'shared': bool(r.shared),
                   'router:external': r.external} for r in rows}


def users(conn: Connection, net_id: str) -> set[str]:
    """The projects with ports (network devices aside) or subnets on the
    network: those that lose their footing if it stops being shared with
    them (Neutron's _validate_shared_update)."""
    return set(conn.execute(union(
        select(ports.c.project_id).where(
            ports.c.network_id == net_id,
            ~ports.c.device_owner.startswith(DEVICE_OWNER_NETWORK_PREFIX)),
        select(subnets.c.project_id).where(
            subnets.c.network_id == net_id))).scalars())


def _set_shared(conn: Connection, ctx: Context, row: Any,
                shared: bool) -> None:
    """Neutron's update_shared: `shared` true adds the '*' policy (owned by
    the caller), false removes it -- 409 while another project uses the
    network and no policy of its own lets it.  The caller writes the
    column (the body's `shared`)."""
    wildcard = rbac.find(conn, OBJECT_TYPE, row.id, rbac.WILDCARD)
    if shared and wildcard is None:
        rbac.add(conn, OBJECT_TYPE, row.id, ctx.project_id, rbac.WILDCARD)
    elif not shared and wildcard is not None:
        if rbac.strands(conn, OBJECT_TYPE, row.id, row.project_id,
                        rbac.WILDCARD, users(conn, row.id)):
            raise exc.InvalidSharedSetting(network=row.name)
        rbac.remove(conn, wildcard.id)


def create_networks(conn: Connection, ctx: Context,
                    bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    security_groups.ensure_defaults(conn, ctx,
                                    (b['project_id'] for b in bodies))
    quotas.enforce_bodies(conn, 'network', bodies)
    ids = []
    for body in bodies:
        segment = segments.reserve(conn, body)
        values = common.column_values(networks, body)
        values.update(id=common.new_id(), status='ACTIVE',
                      mtu=_mtu(body.get('mtu'), segments.max_mtu(segment)),
                      **common.standard_attrs(body))
        conn.execute(insert(networks), values)
        segments.add(conn, values['id'], segment)
        if values.get('shared'):
            rbac.add(conn, OBJECT_TYPE, values['id'], values['project_id'],
                     rbac.WILDCARD)
        port_security.set_network(conn, values['id'], body, new=True)
        common.set_tags(conn, values['id'], body.get('tags', ()), new=True)
        ids.append(values['id'])
    return [get_network(conn, ctx, net_id) for net_id in ids]


def _mtu(requested: int | None, max_mtu: int) -> int:
    """ML2's _get_network_mtu: the MTU asked for, at most the segment's
    (400 above it), or that maximum when none (or 0) is asked for."""
    if requested and requested > max_mtu:
        raise exc.InvalidInput(error_message='Requested MTU is too big, '
                               f'maximum is {max_mtu}')
    return requested or max_mtu


def check_mtu(net_id: str, mtu: int, ip_versions: Iterable[int]) -> None:
    """409 when a network would carry a subnet below its IP version's
    minimum MTU (RFC 791: 68, RFC 8200: 1280; the kernel drops IPv6 from
    such a link, and dnsmasq with it).  Neutron's _validate_change_network_
    mtu and _validate_subnet_network_mtu: the IPv4 minimum is named first,
    whatever the subnets' versions."""
    versions = set(ip_versions)
    if mtu < IPV4_MIN_MTU and versions:
        raise exc.NetworkMTUSubnetConflict(net_id=net_id, mtu=IPV4_MIN_MTU)
    if mtu < IPV6_MIN_MTU and 6 in versions:
        raise exc.NetworkMTUSubnetConflict(net_id=net_id, mtu=IPV6_MIN_MTU)


def update_network(conn: Connection, ctx: Context, net_id: str,
                   body: dict[str, Any]) -> None:
    # The row lock orders this against subnet creation, which takes it too.
    row = get_row(conn, ctx, net_id, for_update=True)
    if body.get('mtu') is not None:
        segment = segments.attributes(conn, [net_id])[net_id]
        body = {**body, 'mtu': _mtu(body['mtu'], segments.max_mtu(segment))}
    if body.get('mtu') is not None and body['mtu'] < IPV6_MIN_MTU:
        check_mtu(net_id, body['mtu'], conn.execute(
            select(subnets.c.ip_version).where(
                subnets.c.network_id == net_id).distinct()).scalars())
    segments.check_update(conn, net_id, body)
    if 'shared' in body:
        _set_shared(conn, ctx, row, body['shared'])
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
    segments.release(conn, net_id)
    subnet_ids = list(conn.execute(select(subnets.c.id).where(
        subnets.c.network_id == net_id)).scalars())
    conn.execute(delete(ip_allocations).where(
        ip_allocations.c.network_id == net_id))
    conn.execute(delete(ports).where(ports.c.network_id == net_id))
    conn.execute(delete(subnets).where(subnets.c.network_id == net_id))
    conn.execute(delete(networks).where(networks.c.id == net_id))
    rbac.drop_policies(conn, OBJECT_TYPE, [net_id])
    common.drop_tags(conn, [net_id, *subnet_ids, *dhcp_ids])
    return dhcp_ids
