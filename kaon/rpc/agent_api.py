"""Agent-side RPC clients: calls to the server, as Neutron's agent makes them.

Every call carries a fresh admin context and this agent's host; versions
are the ones Neutron's DhcpPluginApi prepares.
"""
from __future__ import annotations

import datetime
from typing import Any

from kaon.conf import CONF
from kaon.rpc import common
from kaon.wire import AgentState, DhcpPortRequest, NetworkInfo, Port


class DhcpPluginApi:
    """Topic q-plugin: network info, DHCP ports, port readiness (a
    kaon.wire.DhcpServerApi).  The answers are taken as the wire contract
    says; the server (kaon's or Neutron's) is trusted to keep it."""

    def __init__(self, host: str, timeout: float | None = None) -> None:
        self.host = host
        self.client = common.client(common.PLUGIN, '1.0')
        self.timeout = timeout

    def _call(self, version: str, method: str, **kwargs: Any) -> Any:
        cctxt = self.client.prepare(version=version, timeout=self.timeout,
                                    transport_options=common.AT_LEAST_ONCE)
        return cctxt.call(common.admin_context(), method, **kwargs)

    def get_active_networks_info(self) -> list[NetworkInfo]:
        networks: list[NetworkInfo] = self._call(
            '1.1', 'get_active_networks_info', host=self.host,
            enable_dhcp_filter=False)
        return networks

    def get_network_info(self, network_id: str) -> NetworkInfo | None:
        network: NetworkInfo | None = self._call(
            '1.0', 'get_network_info', network_id=network_id, host=self.host)
        return network

    def create_dhcp_port(self, port: DhcpPortRequest) -> Port | None:
        made: Port | None = self._call('1.1', 'create_dhcp_port', port=port,
                                       host=self.host)
        return made

    def update_dhcp_port(self, port_id: str,
                         port: DhcpPortRequest) -> Port | None:
        updated: Port | None = self._call(
            '1.1', 'update_dhcp_port', port_id=port_id, port=port,
            host=self.host)
        return updated

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        self._call('1.0', 'release_dhcp_port', network_id=network_id,
                   device_id=device_id, host=self.host)

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._call('1.5', 'dhcp_ready_on_ports', port_ids=port_ids)


class PluginReportStateAPI:
    """Topic q-reports-plugin: the heartbeat, always a call."""

    def __init__(self) -> None:
        self.client = common.client(common.REPORTS, '1.4')

    def report_state(self, agent_state: AgentState) -> str | None:
        cctxt = self.client.prepare(timeout=CONF.report_interval,
                                    transport_options=common.AT_LEAST_ONCE)
        now = datetime.datetime.now(datetime.timezone.utc)
        result: str | None = cctxt.call(
            common.admin_context(), 'report_state',
            agent_state={'agent_state': agent_state},
            time=now.strftime('%Y-%m-%dT%H:%M:%S.%f'))
        return result
