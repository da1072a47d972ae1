"""What DHCP agents ask of the plugin, in as few queries as can be: the
networks they serve and the ports they make for themselves.

A network-info dict is what `get_network_info` returns to an agent: the
network's id, project, admin state and MTU, its (DHCP-enabled) subnets and
all its ports.  A full resync of 100 networks costs three queries here, not
three per network.

An agent's own port (Neutron's create/update/release_dhcp_port) is owned
by `network:dhcp`, bound to the agent's host, and named by the device id
dhcp_device_id(host, network): an agent may change no other port, except
that it may take over a reserved one (device id reserved_dhcp_port: the
port an agent had before the network was taken off it) on a network it
serves.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc, wire_shapes
from kaon.constants import (
    DEVICE_ID_RESERVED_DHCP_PORT,
    DEVICE_OWNER_DHCP,
    dhcp_device_id,
)
from kaon.context import Context
from kaon.db.models import ports as ports_table
from kaon.plugin import networks, ports, subnets
from kaon.plugin.query import ListQuery
from kaon.scheduler import dhcp as scheduler
from kaon.wire import NetworkInfo

ADMIN = Context.admin()
# What an agent may change on its own port.
_UPDATABLE = ('fixed_ips', 'device_id', 'name', 'admin_state_up')


def active_network_infos(conn: Connection, host: str,
                         dhcp_only: bool = True) -> list[NetworkInfo]:
    """The networks the agent on `host` serves; none while it is down."""
    return network_infos(conn, scheduler.active_networks(conn, host),
                         dhcp_only)


def network_infos(conn: Connection, network_ids: list[str],
                  dhcp_only: bool = True) -> list[NetworkInfo]:
    """Exactly the keys of Neutron's answer (shared/rpc-examples): the
    API's subnets and ports with the keys Neutron adds (kaon.wire_shapes),
    which Neutron's own DHCP agent reads."""
    if not network_ids:
        return []
    by_net = ListQuery(filters={'network_id': network_ids})
    subnet_filter = dict(by_net.filters)
    if dhcp_only:
        subnet_filter['enable_dhcp'] = [True]
    nets = {n['id']: n for n in networks.list_networks(
        conn, ADMIN, ListQuery(filters={'id': network_ids}))}
    infos = {n['id']: NetworkInfo(
                 id=n['id'], project_id=n['project_id'],
                 admin_state_up=n['admin_state_up'], mtu=n['mtu'],
                 subnets=[], non_local_subnets=[], ports=[])
             for n in nets.values()}
    for subnet in subnets.list_subnets(conn, ADMIN,
                                       ListQuery(filters=subnet_filter)):
        infos[subnet['network_id']]['subnets'].append(
            wire_shapes.subnet(subnet, nets[subnet['network_id']]))
    for port in ports.list_ports(conn, ADMIN, by_net):
        infos[port['network_id']]['ports'].append(wire_shapes.port(port))
    for info in infos.values():
        info['subnets'].sort(key=lambda s: s['id'])
    return [infos[i] for i in network_ids if i in infos]


def create_dhcp_port(conn: Connection, ctx: Context, host: str,
                     body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The agent's port on its network, and whether it is new: the
    server, not the agent, decides owner, host and MAC; the project is
    the request's or, failing that, the admin's."""
    port = dict(body, device_owner=DEVICE_OWNER_DHCP,
                **{'binding:host_id': host})
    port.pop('mac_address', None)
    port.setdefault('admin_state_up', True)
    port['project_id'] = port['tenant_id'] = \
        port.get('project_id') or port.get('tenant_id') or 'admin'
    port.setdefault('name', '')
    port.setdefault('device_id', '')
    return ports.create_agent_port(conn, ctx, port)


def update_dhcp_port(conn: Connection, ctx: Context, host: str,
                     port_id: str, body: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """Change the agent's own port, or take over a reserved one; returns
    the port as it was.  Either way the port is bound to the agent's host
    (as Neutron's update_dhcp_port does), and a reserved port also gets
    the agent's device id.

    The port's row is locked first: of two agents racing for one reserved
    port, the second waits for the first's commit and then reads the
    first's device id (PostgreSQL's READ COMMITTED re-reads a row it
    waited for; SQLite's writers take turns), so exactly one wins and the
    other is told NetworkNotFound, as for any port not its own (Neutron's
    answer then is None: kaon.rpc.dhcp_rpc gives it).  A reserved port
    goes only to an agent the network is scheduled to (else
    NetworkNotHostedByDhcpAgent, Neutron's check): an agent removed from
    the network must not take its port back.
    """
    current = conn.execute(select(
        ports_table.c.network_id, ports_table.c.device_id).where(
        ports_table.c.id == port_id).with_for_update()).first()
    if current is None:
        raise exc.PortNotFound(port_id=port_id)
    own = dhcp_device_id(host, current.network_id)
    changes = {k: v for k, v in body.items() if k in _UPDATABLE}
    if current.device_id == DEVICE_ID_RESERVED_DHCP_PORT:
        if not scheduler.hosts_network(conn, host, current.network_id):
            raise exc.NetworkNotHostedByDhcpAgent(
                network_id=current.network_id, agent_id=f'on host {host}')
        changes['device_id'] = own
    elif current.device_id != own:
        raise exc.NetworkNotFound(net_id=current.network_id)
    changes['binding:host_id'] = host
    return ports.update_port(conn, ctx, port_id, changes)


def release_dhcp_port(conn: Connection, ctx: Context, network_id: str,
                      device_id: str) -> list[dict[str, Any]]:
    """Delete the agent's ports on the network; returns the deleted."""
    ids = conn.execute(select(ports_table.c.id).where(
        ports_table.c.network_id == network_id,
        ports_table.c.device_id == device_id)).scalars().all()
    removed = []
    for port_id in ids:
        try:
            removed.append(ports.delete_port(conn, ctx, port_id))
        except exc.PortNotFound:    # PostgreSQL: deleted since the select
            continue
    return removed
