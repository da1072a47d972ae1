"""Ports: MAC and IP allocation, extra DHCP options, visibility."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.context import Context
from kaon.db import locks
from kaon.db.models import (
    extra_dhcp_opts,
    ip_allocations,
    networks,
    ports,
    security_group_port_bindings,
)
from kaon.ipam import mac as macs
from kaon.plugin import (
    address_pairs,
    common,
    fixed_ips,
    networks as nets,
    port_security,
    provisioning,
    quotas,
    security_groups,
)
from kaon.plugin.query import ListQuery, select_page, where_clauses


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own ports and the ports on their networks."""
    if ctx.is_admin:
        return []
    own_nets = select(networks.c.id).where(
        networks.c.project_id == ctx.project_id)
    return [or_(ports.c.project_id == ctx.project_id,
                ports.c.network_id.in_(own_nets))]


def _by_mac(table: Any, values: list[str]) -> Any:
    return table.c.mac_address.in_([macs.normalize(str(v)) for v in values])


def _by_security_groups(table: Any, values: list[str]) -> Any:
    bindings = security_group_port_bindings.c
    return table.c.id.in_(select(bindings.port_id).where(
        bindings.security_group_id.in_(values)))


SPECIAL_FILTERS = {'fixed_ips': fixed_ips.port_filter, 'mac_address': _by_mac,
                   'security_groups': _by_security_groups,
                   'port_security_enabled': port_security.BY_PORT}


def list_ports(conn: Connection, ctx: Context,
               query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(ports, query.filters, SPECIAL_FILTERS)
    return to_dicts(conn, select_page(conn, ports, query,
                                      clauses + visible(ctx)))


def to_dicts(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    ips = common.rows_by(conn, ip_allocations, 'port_id', ids,
                         ip_allocations.c.ip_key)
    opts = common.rows_by(conn, extra_dhcp_opts, 'port_id', ids,
                          extra_dhcp_opts.c.opt_name)
    tags = common.load_tags(conn, ids)
    pairs = address_pairs.load(conn, ids)
    result = []
    for row in rows:
        port = common.row_to_dict(row)
        port['allowed_address_pairs'] = pairs[row.id]
        port['fixed_ips'] = [{'subnet_id': a.subnet_id,
                              'ip_address': a.ip_address} for a in ips[row.id]]
        port['extra_dhcp_opts'] = [
            {'opt_name': o.opt_name, 'opt_value': o.opt_value,
             'ip_version': o.ip_version} for o in opts[row.id]]
        port['tags'] = tags[row.id]
        result.append(port)
    port_security.extend_ports(conn, result)
    return result


def get_row(conn: Connection, ctx: Context, port_id: str) -> Any:
    return common.visible_row(conn, ports, 'port', port_id, visible(ctx))


def get_port(conn: Connection, ctx: Context,
             port_id: str) -> dict[str, Any]:
    return to_dicts(conn, [get_row(conn, ctx, port_id)])[0]


def _mac_taken(conn: Connection, network_id: str, mac: str) -> bool:
    return conn.execute(select(ports.c.id).where(
        ports.c.network_id == network_id,
        ports.c.mac_address == mac)).first() is not None


def _choose_mac(conn: Connection, network_id: str,
                requested: str | None) -> str:
    """The requested MAC if free on the network, else a random free one.

    Random MACs are checked too: a bulk of 500 ports into a network of
    100,000 would clash about three times, and each clash caught only by the
    unique constraint would restart the whole bulk.  The constraint stays
    the guarantee against concurrent creates.
    """
    if requested:
        mac = macs.normalize(requested)
        if _mac_taken(conn, network_id, mac):
            raise exc.MacAddressInUse(net_id=network_id, mac=mac)
        return mac
    for _ in range(CONF.mac_generation_retries):
        mac = macs.random_mac(CONF.base_mac)
        if not _mac_taken(conn, network_id, mac):
            return mac
    raise exc.MacAddressGenerationFailure(net_id=network_id)


def create_ports(conn: Connection, ctx: Context,
                 bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's (bulk) create: every port is checked against the quota,
    whatever its device_owner."""
    security_groups.ensure_defaults(conn, ctx,
                                    (b['project_id'] for b in bodies))
    quotas.enforce_bodies(conn, 'port', bodies)
    return [_create_port(conn, ctx, body) for body in bodies]


def create_agent_port(conn: Connection, ctx: Context,
                      body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A DHCP agent's own port, and whether it is new: counted in its
    project's usage, never refused by the quota (the rule, and why:
    kaon.plugin.quotas).

    One per agent and network: the device id names both, so a second
    create with the same device id (an agent's full sync racing a queued
    event to set the network up) gets the port the first one made.  A
    second port would be a stale twin that the agent, restarted, may find
    first, and then replace the device dnsmasq serves on.
    """
    device_id = body.get('device_id')
    if device_id:
        locks.hold(conn, f'dhcp-port:{device_id}')
        existing = conn.execute(select(ports.c.id).where(
            ports.c.network_id == body['network_id'],
            ports.c.device_id == device_id,
            ports.c.device_owner == body.get('device_owner'))).scalar()
        if existing is not None:
            return get_port(conn, ctx, existing), False
    return _create_port(conn, ctx, body), True


def _create_port(conn: Connection, ctx: Context,
                 body: dict[str, Any]) -> dict[str, Any]:
    """Insert a port; the result is built from what was written, the hot
    path of the API reads nothing back."""
    net_row = nets.get_row(conn, ctx, body['network_id'])
    values = common.column_values(ports, body)
    values.update(id=common.new_id(), status='DOWN',
                  mac_address=_choose_mac(conn, net_row.id,
                                          body.get('mac_address')),
                  **common.standard_attrs(body))
    values = common.with_defaults(ports, values)
    # Values as parameters, not in the statement: the statement (and its
    # compiled form) is then the same for every port.
    conn.execute(insert(ports), values)
    port = common.to_api(values)
    port['fixed_ips'] = fixed_ips.allocate(conn, values,
                                           body.get('fixed_ips'))
    opts = body.get('extra_dhcp_opts') or []
    if opts:
        _merge_opts(conn, values['id'], opts)
    port['extra_dhcp_opts'] = sorted(
        ({'opt_name': o['opt_name'], 'opt_value': o['opt_value'],
          'ip_version': o['ip_version']} for o in opts
         if o.get('opt_value') is not None), key=lambda o: o['opt_name'])
    port['tags'] = sorted(set(body.get('tags', ())))
    common.set_tags(conn, values['id'], port['tags'], new=True)
    port['allowed_address_pairs'] = address_pairs.replace(
        conn, values['id'], values['mac_address'],
        body.get('allowed_address_pairs') or [], new=True)
    port.update(port_security.on_create(conn, ctx, port, body, net_row.id))
    provisioning.on_create(conn, port)
    return port


def _merge_opts(conn: Connection, port_id: str,
                opts: list[dict[str, Any]]) -> None:
    """Neutron's semantics: a null value removes the option, others upsert."""
    for opt in opts:
        key = and_(extra_dhcp_opts.c.port_id == port_id,
                   extra_dhcp_opts.c.opt_name == opt['opt_name'],
                   extra_dhcp_opts.c.ip_version == opt['ip_version'])
        conn.execute(delete(extra_dhcp_opts).where(key))
        if opt.get('opt_value') is not None:
            conn.execute(insert(extra_dhcp_opts).values(
                port_id=port_id, opt_name=opt['opt_name'],
                opt_value=opt['opt_value'], ip_version=opt['ip_version']))


def update_port(conn: Connection, ctx: Context, port_id: str,
                body: dict[str, Any]) -> dict[str, Any]:
    """Apply an update; returns the port as it was before it."""
    row = get_row(conn, ctx, port_id)
    # Neutron ensures the default group on a port update too.
    security_groups.ensure_defaults(conn, ctx, [row.project_id])
    before = to_dicts(conn, [row])[0]
    values = common.column_values(ports, body)
    if 'mac_address' in body:
        # None (port-mac-address-regenerate): _choose_mac draws a free one.
        mac = body['mac_address'] and macs.normalize(body['mac_address'])
        if mac != row.mac_address:
            values['mac_address'] = _choose_mac(conn, row.network_id, mac)
    if body.get('admin_state_up') is False:
        # At once, not when an L2 agent reports the device down (Neutron's
        # way): hosts without one would never say it.
        values['status'] = 'DOWN'
    values.update(common.bumped(row))
    conn.execute(update(ports).where(ports.c.id == port_id).values(**values))
    if values.get('host', row.host) != row.host:
        provisioning.on_host_change(conn, port_id, values['host'])
    if 'fixed_ips' in body:
        port = dict(row._mapping, **values)
        fixed_ips.replace(conn, port, before['fixed_ips'],
                          body['fixed_ips'] or [])
    if 'extra_dhcp_opts' in body:
        _merge_opts(conn, port_id, body['extra_dhcp_opts'] or [])
    if 'tags' in body:
        common.set_tags(conn, port_id, body['tags'])
    if 'allowed_address_pairs' in body:
        address_pairs.replace(conn, port_id,
                              values.get('mac_address', row.mac_address),
                              body['allowed_address_pairs'] or [])
    port_security.on_update(conn, ctx, before, body)
    return before


def delete_port(conn: Connection, ctx: Context,
                port_id: str) -> dict[str, Any]:
    """Delete a port and free its addresses; returns the deleted port."""
    row = get_row(conn, ctx, port_id)
    port = to_dicts(conn, [row])[0]
    fixed_ips.release(conn, port['fixed_ips'])
    common.drop_tags(conn, [port_id])
    conn.execute(delete(ports).where(ports.c.id == port_id))
    return port
