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

    def network_create_end(self, context: Any, payload: NetworkEvent) -> None:
        net_id = payload['network']['id']
        self._queue(net_id, payload.get('priority'),
                    lambda: self.agent.enable_network(net_id))

    def network_update_end(self, context: Any, payload: NetworkEvent) -> None:
        net_id = payload['network']['id']
        job = (lambda: self.agent.enable_network(net_id)) \
            if payload['network']['admin_state_up'] else \
            (lambda: self.agent.disable_network(net_id))
        self._queue(net_id, payload.get('priority'), job)

    def network_delete_end(self, context: Any,
                           payload: NetworkDeleteEvent) -> None:
        net_id = payload['network_id']
        self._queue(net_id, payload.get('priority'),
                    lambda: self.agent.disable_network(net_id))

    def subnet_create_end(self, context: Any, payload: SubnetEvent) -> None:
        net_id = payload['subnet']['network_id']
        self._queue(net_id, payload.get('priority'),
                    lambda: self.agent.refresh_network(net_id))

    subnet_update_end = subnet_create_end

    def subnet_delete_end(self, context: Any,
                          payload: SubnetDeleteEvent) -> None:
        net_id = payload['network_id']
        self._queue(net_id, payload.get('priority'),
                    lambda: self.agent.refresh_network(net_id))

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
