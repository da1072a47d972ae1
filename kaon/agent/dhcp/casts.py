"""The DHCP agent's RPC endpoint: the server's casts (topic dhcp_agent),
each queued as work on its network (DhcpAgent.submit), at the priority the
server gave it (Neutron's: network events before port events)."""
from __future__ import annotations

from typing import Any, Callable

import oslo_messaging

from kaon.agent.dhcp.agent import DhcpAgent
from kaon.wire import (
    NetworkDeleteEvent,
    NetworkEvent,
    PortDeleteEvent,
    PortEvent,
    SubnetDeleteEvent,
    SubnetEvent,
)

DEFAULT_PRIORITY = 6


class DhcpCasts:
    """The nine `<resource>_<event>_end` casts and agent_updated."""

    target = oslo_messaging.Target(version='1.0')

    def __init__(self, agent: DhcpAgent) -> None:
        self.agent = agent

    def _queue(self, network_id: str, priority: int | None,
               job: Callable[[], None]) -> None:
        self.agent.submit(network_id, DEFAULT_PRIORITY if priority is None
                          else priority, job)

    def _on_network(self, network_id: str, priority: int | None,
                    action: Callable[[str], None]) -> None:
        """Queue `action(network_id)`: what every network and subnet cast
        comes down to."""
        self._queue(network_id, priority, lambda: action(network_id))

    def network_create_end(self, context: Any, payload: NetworkEvent) -> None:
        self._on_network(payload['network']['id'], payload.get('priority'),
                         self.agent.enable_network)

    def network_update_end(self, context: Any, payload: NetworkEvent) -> None:
        network = payload['network']
        self._on_network(network['id'], payload.get('priority'),
                         self.agent.enable_network
                         if network['admin_state_up']
                         else self.agent.disable_network)

    def network_delete_end(self, context: Any,
                           payload: NetworkDeleteEvent) -> None:
        self._on_network(payload['network_id'], payload.get('priority'),
                         self.agent.disable_network)

    def subnet_create_end(self, context: Any, payload: SubnetEvent) -> None:
        self._on_network(payload['subnet']['network_id'],
                         payload.get('priority'), self.agent.refresh_network)

    subnet_update_end = subnet_create_end

    def subnet_delete_end(self, context: Any,
                          payload: SubnetDeleteEvent) -> None:
        self._on_network(payload['network_id'], payload.get('priority'),
                         self.agent.refresh_network)

    def port_create_end(self, context: Any, payload: PortEvent) -> None:
        port = payload['port']
        self._queue(port['network_id'], payload.get('priority'),
                    lambda: self.agent.port_changed(port))

    port_update_end = port_create_end

    def port_delete_end(self, context: Any,
                        payload: PortDeleteEvent) -> None:
        port_id = payload['port_id']
        self._queue(payload['network_id'], payload.get('priority'),
                    lambda: self.agent.port_removed(port_id))

    def agent_updated(self, context: Any, payload: dict[str, Any]) -> None:
        self.agent.full_resync.set()
