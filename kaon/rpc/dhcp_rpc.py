"""Server-side RPC endpoints: what DHCP agents call (Neutron's names).

DhcpRpcCallback serves `q-plugin` (target 1.10), AgentExtRpcCallback serves
`q-reports-plugin` (target 1.4).  Arguments arrive as keyword arguments with
Neutron's names; results are the API's dicts.  Every answer is the
plugin's: an endpoint only unpacks the call and picks the plugin method
(and gives ports and networks the keys Neutron's carry, kaon.wire_shapes).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar, cast

import oslo_messaging

from kaon import exceptions as exc, wire_shapes
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery
from kaon.wire import DhcpPortRequest, NetworkInfo, NetworkRef, Port

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()
# The request context as it came over the wire (oslo.context's dict);
# agents act as admin, so kaon reads nothing from it.
WireContext = dict[str, Any]
F = TypeVar('F', bound=Callable[..., Any])


def _expected(*errors: type[Exception]) -> Callable[[F], F]:
    """oslo.messaging's expected_exceptions, typed: these go back to the
    agent as themselves without a traceback in the server's log."""
    return cast(Callable[[F], F],
                oslo_messaging.expected_exceptions(*errors))


class DhcpRpcCallback:
    target = oslo_messaging.Target(version='1.10')

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def get_active_networks_info(self, context: WireContext,
                                 **kwargs: Any) -> list[NetworkInfo]:
        return self.plugin.get_active_networks_info(
            ADMIN, kwargs['host'],
            dhcp_only=kwargs.get('enable_dhcp_filter', True))

    def get_network_info(self, context: WireContext,
                         **kwargs: Any) -> NetworkInfo | None:
        return self.plugin.get_network_info(kwargs['network_id'])

    @_expected(exc.IpAddressGenerationFailure, exc.NetworkNotFound)
    def create_dhcp_port(self, context: WireContext,
                         **kwargs: Any) -> Port:
        request: DhcpPortRequest = kwargs['port']
        return wire_shapes.port(self.plugin.create_dhcp_port(
            ADMIN, kwargs['host'], request['port']))

    @_expected(exc.IpAddressGenerationFailure, exc.NetworkNotFound)
    def update_dhcp_port(self, context: WireContext,
                         **kwargs: Any) -> Port | None:
        """Neutron's answers: None for a port that is gone or not the
        agent's (another agent took the reserved port first: the agent
        tries another reserved port or creates its own), NetworkNotFound
        when the agent does not host the network (it stops serving it)."""
        request: DhcpPortRequest = kwargs['port']
        try:
            return wire_shapes.port(self.plugin.update_dhcp_port(
                ADMIN, kwargs['host'], kwargs['port_id'], request['port']))
        except exc.NetworkNotHostedByDhcpAgent as err:
            raise exc.NetworkNotFound(
                net_id=err.kwargs['network_id']) from err
        except (exc.NetworkNotFound, exc.PortNotFound) as err:
            LOG.info('update_dhcp_port of %s from %s: %s', kwargs['port_id'],
                     kwargs['host'], err)
            return None

    def release_dhcp_port(self, context: WireContext, **kwargs: Any) -> None:
        self.plugin.release_dhcp_port(ADMIN, kwargs['network_id'],
                                      kwargs['device_id'])

    def get_dhcp_port(self, context: WireContext, **kwargs: Any) -> Port:
        return wire_shapes.port(self.plugin.get('port', ADMIN,
                                                kwargs['port_id']))

    def dhcp_ready_on_ports(self, context: WireContext,
                            **kwargs: Any) -> None:
        """The DHCP block of each port is done; with no L2 agent in kaon
        that makes the port ACTIVE."""
        self.plugin.set_ports_status(kwargs['port_ids'], 'ACTIVE')

    def get_ports(self, context: WireContext, **kwargs: Any) -> list[Port]:
        return [wire_shapes.port(p)
                for p in self.plugin.list('port', ADMIN, _query(kwargs))]

    def get_networks(self, context: WireContext,
                     **kwargs: Any) -> list[NetworkRef]:
        return [wire_shapes.network(n) for n
                in self.plugin.list('network', ADMIN, _query(kwargs))]


def _query(kwargs: dict[str, Any]) -> ListQuery:
    """RPC filters map names to a value or a list; the plugin wants lists."""
    return ListQuery(filters={k: v if isinstance(v, list) else [v] for k, v
                              in (kwargs.get('filters') or {}).items()})


class AgentExtRpcCallback:
    target = oslo_messaging.Target(version='1.4')

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def report_state(self, context: WireContext, **kwargs: Any) -> str:
        state = kwargs['agent_state']['agent_state']
        result = self.plugin.report_state(state)
        if result != 'alive':
            LOG.info('agent %s on %s reported: %s', state.get('agent_type'),
                     state.get('host'), result)
        return result

    def has_alive_neutron_server(self, context: WireContext,
                                 **kwargs: Any) -> bool:
        return True
