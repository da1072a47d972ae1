"""Server-side RPC endpoints: what DHCP agents call (Neutron's names).

DhcpRpcCallback serves `q-plugin` (target 1.10), AgentExtRpcCallback serves
`q-reports-plugin` (target 1.4).  Arguments arrive as keyword arguments with
Neutron's names; results are the API's dicts.
"""
from __future__ import annotations

import logging
from typing import Any

import oslo_messaging

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.constants import DEVICE_OWNER_DHCP, dhcp_device_id
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery
from kaon.scheduler import dhcp as scheduler

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()


class DhcpRpcCallback:
    target = oslo_messaging.Target(version='1.10')

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def get_active_networks_info(self, context: Any, **kwargs: Any) -> list:
        host = kwargs['host']
        if CONF.network_auto_schedule:
            for network_id in self.plugin.db.write(
                    lambda c: scheduler.auto_schedule_networks(c, host)):
                LOG.info('network %s auto-scheduled to %s', network_id, host)
        with self.plugin.db.reading() as conn:
            ids = scheduler.active_networks(conn, host)
        return self.plugin.network_infos(
            ids, dhcp_only=kwargs.get('enable_dhcp_filter', True))

    def get_network_info(self, context: Any, **kwargs: Any) -> Any:
        infos = self.plugin.network_infos([kwargs['network_id']])
        return infos[0] if infos else None

    @oslo_messaging.expected_exceptions(exc.IpAddressGenerationFailure,
                                        exc.NetworkNotFound)
    def create_dhcp_port(self, context: Any, **kwargs: Any) -> dict:
        port = dict(kwargs['port']['port'])
        port.update(device_owner=DEVICE_OWNER_DHCP,
                    **{'binding:host_id': kwargs['host']})
        port.pop('mac_address', None)
        port.setdefault('admin_state_up', True)
        port['project_id'] = port['tenant_id'] = \
            port.get('project_id') or port.get('tenant_id') or 'admin'
        port.setdefault('name', '')
        port.setdefault('device_id', '')
        # Infrastructure: counted in the project's port usage, never
        # refused by its quota (the rule is kaon.plugin.quotas').
        return self.plugin.create_agent_port(ADMIN, port)

    @oslo_messaging.expected_exceptions(exc.IpAddressGenerationFailure,
                                        exc.NetworkNotFound)
    def update_dhcp_port(self, context: Any, **kwargs: Any) -> Any:
        port_id, host = kwargs['port_id'], kwargs['host']
        body = dict(kwargs['port']['port'])
        current = self.plugin.get('port', ADMIN, port_id)
        allowed = {dhcp_device_id(host, current['network_id']),
                   'reserved_dhcp_port'}
        if current['device_id'] not in allowed:
            raise exc.NetworkNotFound(net_id=current['network_id'])
        body.pop('network_id', None)
        body = {k: v for k, v in body.items()
                if k in ('fixed_ips', 'device_id', 'name', 'admin_state_up')}
        return self.plugin.update('port', ADMIN, port_id, body)

    def release_dhcp_port(self, context: Any, **kwargs: Any) -> None:
        query = ListQuery(filters={'network_id': [kwargs['network_id']],
                                   'device_id': [kwargs['device_id']]})
        for port in self.plugin.list('port', ADMIN, query):
            try:
                self.plugin.delete('port', ADMIN, port['id'])
            except exc.PortNotFound:
                pass

    def get_dhcp_port(self, context: Any, **kwargs: Any) -> dict:
        return self.plugin.get('port', ADMIN, kwargs['port_id'])

    def dhcp_ready_on_ports(self, context: Any, **kwargs: Any) -> None:
        """The DHCP block of each port is done; with no L2 agent in kaon
        that makes the port ACTIVE."""
        self.plugin.set_ports_status(kwargs['port_ids'], 'ACTIVE')

    def get_ports(self, context: Any, **kwargs: Any) -> list:
        return self.plugin.list('port', ADMIN, _query(kwargs))

    def get_networks(self, context: Any, **kwargs: Any) -> list:
        return self.plugin.list('network', ADMIN, _query(kwargs))


def _query(kwargs: dict[str, Any]) -> ListQuery:
    """RPC filters map names to a value or a list; the plugin wants lists."""
    return ListQuery(filters={k: v if isinstance(v, list) else [v] for k, v
                              in (kwargs.get('filters') or {}).items()})


class AgentExtRpcCallback:
    target = oslo_messaging.Target(version='1.4')

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def report_state(self, context: Any, **kwargs: Any) -> str:
        state = kwargs['agent_state']['agent_state']
        result = self.plugin.report_state(state)
        if result != 'alive':
            LOG.info('agent %s on %s reported: %s', state.get('agent_type'),
                     state.get('host'), result)
        return result

    def has_alive_neutron_server(self, context: Any, **kwargs: Any) -> bool:
        return True
