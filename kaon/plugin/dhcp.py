"""What the DHCP side needs from the database, in as few queries as can be.

A network-info dict is what `get_network_info` returns to an agent: the
network's id, project, admin state and MTU, its (DHCP-enabled) subnets and
all its ports.  A full resync of 100 networks costs three queries here, not
three per network.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from kaon.context import Context
from kaon.db.models import ports as ports_table
from kaon.plugin import common, networks, ports, subnets
from kaon.plugin.query import ListQuery

ADMIN = Context.admin()


def network_infos(conn: Connection, network_ids: list[str],
                  dhcp_only: bool = True) -> list[dict[str, Any]]:
    if not network_ids:
        return []
    by_net = ListQuery(filters={'network_id': network_ids})
    subnet_filter = dict(by_net.filters)
    if dhcp_only:
        subnet_filter['enable_dhcp'] = [True]
    infos = {n['id']: {'id': n['id'], 'project_id': n['project_id'],
                       'tenant_id': n['project_id'],
                       'admin_state_up': n['admin_state_up'],
                       'mtu': n['mtu'], 'revision_number':
                       n['revision_number'], 'subnets': [],
                       'non_local_subnets': [], 'ports': []}
             for n in networks.list_networks(conn, ADMIN, ListQuery(
                 filters={'id': network_ids}))}
    for subnet in subnets.list_subnets(conn, ADMIN,
                                       ListQuery(filters=subnet_filter)):
        infos[subnet['network_id']]['subnets'].append(subnet)
    for port in ports.list_ports(conn, ADMIN, by_net):
        infos[port['network_id']]['ports'].append(port)
    for info in infos.values():
        info['subnets'].sort(key=lambda s: s['id'])
    return [infos[i] for i in network_ids if i in infos]


def set_ports_status(conn: Connection, port_ids: list[str],
                     status: str) -> None:
    now = common.utcnow()
    for part in common.chunks(list(port_ids)):
        conn.execute(update(ports_table).where(
            ports_table.c.id.in_(part), ports_table.c.status != status)
            .values(status=status, updated_at=now,
                    revision_number=ports_table.c.revision_number + 1))
