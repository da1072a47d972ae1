"""Ports' security groups and port security (Neutron's security-group
port extension and port-security, as ML2 applies them).

- A port's port_security_enabled is its own if given, else its network's;
  ports of network devices (device_owner network:*) are trusted: no port
  security, no groups.
- With port security on, a port without `security_groups` gets its
  project's default group; [] or null means none.
- With port security off a port may have no groups (400) and no allowed
  address pairs (409); turning it off while groups remain is 409.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.constants import DEVICE_OWNER_NETWORK_PREFIX
from kaon.context import Context
from kaon.db.models import (
    network_security_bindings as net_bindings,
    port_security_bindings as port_bindings,
    security_group_port_bindings as sg_bindings,
    security_groups,
)
from kaon.plugin import common, security_groups as groups

PSEC = 'port_security_enabled'
SG = 'security_groups'


def trusted(port: dict[str, Any]) -> bool:
    """Neutron's is_port_trusted: network infrastructure's own ports."""
    return str(port.get('device_owner') or '').startswith(
        DEVICE_OWNER_NETWORK_PREFIX)


def _filter(bindings: Any, key: Any) -> Any:
    """?port_security_enabled=...: a row without a binding has it on."""
    def clause(table: Any, values: list[bool]) -> Any:
        stated = table.c.id.in_(select(key).where(
            bindings.c.port_security_enabled.in_(values)))
        if True not in values:
            return stated
        return or_(stated, table.c.id.notin_(select(key)))
    return clause


# The filters of networks and ports.
BY_NETWORK = _filter(net_bindings, net_bindings.c.network_id)
BY_PORT = _filter(port_bindings, port_bindings.c.port_id)


# -- networks -------------------------------------------------------------
def network_values(conn: Connection, net_ids: list[str]) -> dict[str, bool]:
    """Each network's port security (on without a row: Neutron's default)."""
    found = common.rows_by(conn, net_bindings, 'network_id', net_ids)
    return {i: rows[0].port_security_enabled if rows else True
            for i, rows in found.items()}


def set_network(conn: Connection, net_id: str, body: dict[str, Any],
                new: bool) -> None:
    if PSEC not in body:
        return
    if not new:
        conn.execute(delete(net_bindings).where(
            net_bindings.c.network_id == net_id))
    conn.execute(insert(net_bindings).values(
        network_id=net_id, port_security_enabled=body[PSEC]))


# -- ports ----------------------------------------------------------------
def extend_ports(conn: Connection, ports: list[dict[str, Any]]) -> None:
    """Add `security_groups` and `port_security_enabled` to port dicts."""
    ids = [p['id'] for p in ports]
    psec = common.rows_by(conn, port_bindings, 'port_id', ids)
    sgs = common.rows_by(conn, sg_bindings, 'port_id', ids,
                         sg_bindings.c.security_group_id)
    for port in ports:
        rows = psec[port['id']]
        port[PSEC] = rows[0].port_security_enabled if rows else True
        port[SG] = [r.security_group_id for r in sgs[port['id']]]


def check_address_pairs(port: dict[str, Any], enabled: bool) -> None:
    """Allowed address pairs need port security (409), whether the body
    sets them or the port keeps them."""
    if not enabled and port.get('allowed_address_pairs'):
        raise exc.AddressPairAndPortSecurityRequired()


def _usable(conn: Connection, ctx: Context, project_id: str,
            group_ids: list[str]) -> list[Any]:
    """The groups, if the port's project may use every one (its own or
    shared ones; an admin any); SecurityGroupNotFound names the others."""
    rows = conn.execute(select(security_groups).where(
        security_groups.c.id.in_(group_ids))).all()
    shared = groups.shared(conn, project_id, group_ids)
    valid = [r for r in rows if ctx.is_admin or r.project_id == project_id
             or r.id in shared]
    missing = sorted(set(group_ids) - {r.id for r in valid})
    if missing:
        raise exc.SecurityGroupNotFound(id=', '.join(missing))
    if len({r.stateful for r in valid}) > 1:
        raise exc.SecurityGroupConflict(
            reason='Cannot apply both stateful and stateless security '
                   'groups on the same port at the same time')
    return valid


def _bind(conn: Connection, ctx: Context, port_id: str, project_id: str,
          group_ids: list[str], new: bool) -> list[str]:
    _usable(conn, ctx, project_id, group_ids)
    if not new:
        conn.execute(delete(sg_bindings).where(
            sg_bindings.c.port_id == port_id))
    if group_ids:
        conn.execute(insert(sg_bindings), [
            {'port_id': port_id, 'security_group_id': g} for g in group_ids])
    return sorted(group_ids)


def on_create(conn: Connection, ctx: Context, port: dict[str, Any],
              body: dict[str, Any], net_id: str) -> dict[str, Any]:
    """Store a new port's port security and groups; returns the two
    attributes for its dict."""
    if trusted(port):
        enabled = False
    elif body.get(PSEC) is not None:
        enabled = bool(body[PSEC])
    else:
        enabled = network_values(conn, [net_id])[net_id]
    check_address_pairs(body, enabled)
    wanted = body.get(SG)
    if not enabled:
        if wanted:
            raise exc.PortSecurityAndIPRequiredForSecurityGroups()
        wanted = []
    elif wanted is None and SG not in body:
        wanted = [groups.ensure_default(conn, port['project_id'])]
    conn.execute(insert(port_bindings).values(port_id=port['id'],
                                              port_security_enabled=enabled))
    bound = _bind(conn, ctx, port['id'], port['project_id'], wanted or [],
                  new=True)
    return {PSEC: enabled, SG: bound}


def on_update(conn: Connection, ctx: Context, before: dict[str, Any],
              body: dict[str, Any]) -> None:
    """Apply a port update's port security and groups (Neutron's
    _portsec_ext_port_update_processing, then the groups)."""
    enabled = body.get(PSEC, before[PSEC])
    if PSEC in body:
        conn.execute(delete(port_bindings).where(
            port_bindings.c.port_id == before['id']))
        conn.execute(insert(port_bindings).values(
            port_id=before['id'], port_security_enabled=enabled))
    if not enabled:
        check_address_pairs(dict(before, **body), enabled)
        if body.get(SG):
            raise exc.PortSecurityAndIPRequiredForSecurityGroups()
        if SG not in body and before[SG]:
            raise exc.PortSecurityPortHasSecurityGroup()
    if SG in body and sorted(body[SG] or []) != before[SG]:
        _bind(conn, ctx, before['id'], before['project_id'], body[SG] or [],
              new=False)
