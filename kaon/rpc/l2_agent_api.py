"""The L2 agent's RPC: its calls to the server and the casts it consumes,
as Neutron's linuxbridge agent has them (kaon.wire_l2 says the payloads).

- L2PluginApi: topic q-plugin, Neutron's agent PluginApi (target 1.0;
  get_devices_details_list_and_failed_devices at 1.5, update_device_list
  at 1.9 with refresh_tunnels).
- L2Casts and consumers(): l2population's add/remove/update_fdb_entries
  on L2POP_TOPIC (fanout, and to this host), port_update, port_delete and
  network_delete on their fanout topics, handed to an L2Updates (the
  agent).  Like Neutron's create_consumers, the agent also consumes
  `L2POP_TOPIC.<host>` as a topic of its own: with RabbitMQ that is the
  queue a cast to (L2POP_TOPIC, server=host) lands in anyway; with the
  in-process transport it is a queue of its own.
"""
from __future__ import annotations

from typing import Any, Protocol, cast

import oslo_messaging

from kaon.rpc import common
from kaon.wire import Port
from kaon.wire_l2 import (
    L2POP_TOPIC,
    NETWORK_DELETE_TOPIC,
    PORT_DELETE_TOPIC,
    PORT_UPDATE_TOPIC,
    DeviceListUpdate,
    DevicesDetails,
    FdbEntries,
)

# LinuxBridgeRpcCallbacks' target: 1.4 takes every method below.
CASTS_VERSION = '1.4'
# l2population's update_fdb_entries: {'chg_ip': {network_id: {agent_ip:
# {'before': [[mac, ip]...], 'after': [[mac, ip]...]}}}}.
FdbUpdate = dict[str, dict[str, dict[str, dict[str, list[list[str]]]]]]


class L2PluginApi:
    """The agent's calls to the server (topic q-plugin)."""

    def __init__(self, host: str, agent_id: str,
                 timeout: float | None = None) -> None:
        self.host = host
        self.agent_id = agent_id
        self.client = common.client(common.PLUGIN, '1.0')
        self.timeout = timeout

    def _call(self, version: str, method: str, **kwargs: Any) -> Any:
        cctxt = self.client.prepare(version=version, timeout=self.timeout,
                                    transport_options=common.AT_LEAST_ONCE)
        return cctxt.call(common.admin_context(), method,
                          agent_id=self.agent_id, host=self.host, **kwargs)

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str]) -> DevicesDetails:
        # The answer is taken as the wire contract says (kaon.wire_l2).
        return cast(DevicesDetails, self._call(
            '1.5', 'get_devices_details_list_and_failed_devices',
            devices=devices))

    def update_device_list(self, devices_up: list[str],
                           devices_down: list[str],
                           refresh_tunnels: bool = False) -> DeviceListUpdate:
        return cast(DeviceListUpdate, self._call(
            '1.9', 'update_device_list', devices_up=devices_up,
            devices_down=devices_down, refresh_tunnels=refresh_tunnels))


class L2Updates(Protocol):
    """What the casts are handed to."""

    def add_fdb_entries(self, fdb_entries: FdbEntries) -> None: ...

    def remove_fdb_entries(self, fdb_entries: FdbEntries) -> None: ...

    def update_fdb_entries(self, fdb_entries: FdbUpdate) -> None: ...

    def port_update(self, port: Port) -> None: ...

    def port_delete(self, port_id: str) -> None: ...

    def network_delete(self, network_id: str) -> None: ...


class L2Casts:
    """Neutron's LinuxBridgeRpcCallbacks (with l2population's mixin), as
    an oslo.messaging endpoint."""
    target = oslo_messaging.Target(version=CASTS_VERSION)

    def __init__(self, agent: L2Updates) -> None:
        self.agent = agent

    def add_fdb_entries(self, context: dict[str, Any],
                        fdb_entries: FdbEntries, host: str | None = None
                        ) -> None:
        self.agent.add_fdb_entries(fdb_entries)

    def remove_fdb_entries(self, context: dict[str, Any],
                           fdb_entries: FdbEntries, host: str | None = None
                           ) -> None:
        self.agent.remove_fdb_entries(fdb_entries)

    def update_fdb_entries(self, context: dict[str, Any],
                           fdb_entries: FdbUpdate, host: str | None = None
                           ) -> None:
        self.agent.update_fdb_entries(fdb_entries)

    def port_update(self, context: dict[str, Any], **kwargs: Any) -> None:
        self.agent.port_update(kwargs['port'])

    def port_delete(self, context: dict[str, Any], **kwargs: Any) -> None:
        self.agent.port_delete(kwargs['port_id'])

    def network_delete(self, context: dict[str, Any], **kwargs: Any
                       ) -> None:
        self.agent.network_delete(kwargs['network_id'])


def consumers(host: str, agent: L2Updates) -> list[Any]:
    """RPC servers (start() / stop() / wait()), one per topic; an
    oslo.messaging server also listens to its topic's fanout exchange."""
    endpoints = [L2Casts(agent)]
    topics = [L2POP_TOPIC, f'{L2POP_TOPIC}.{host}', PORT_UPDATE_TOPIC,
              PORT_DELETE_TOPIC, NETWORK_DELETE_TOPIC]
    return [common.server(topic, host, endpoints) for topic in topics]
