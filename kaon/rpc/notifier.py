"""The DHCP notifier: plugin events become casts to the DHCP agents.

Neutron's DhcpAgentNotifyAPI rules (shared/RPC.md section 5): nothing on
network create; subnet and port creation schedule the network first; casts
go to each hosting agent's own topic `dhcp_agent.<host>`; network delete is
a fanout.  Unlike Neutron, the casts leave from one background thread: the
API request never waits for the broker, and a broker or agent that is down
cannot make `POST /v2.0/ports` slow or fail.  One thread keeps the order of
the events.

A notifier serves one plugin (it subscribes to that plugin's events): every
process whose plugin changes things agents must hear of runs one, an API
worker as much as the process serving the agents' RPC calls.  It carries
the security-group casts to the firewall agents too
(kaon.rpc.sg_notifier), so that every such process sends those as well.
"""
from __future__ import annotations

import logging
import random
from typing import Any, Callable, cast

from kaon import wire_shapes
from kaon.constants import DEVICE_ID_RESERVED_DHCP_PORT
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.rpc.sg_notifier import SecurityGroupNotifier
from kaon.wire import (
    NetworkDeleteEvent,
    NetworkEvent,
    Port,
    PortDeleteEvent,
    PortEvent,
    Subnet,
    SubnetDeleteEvent,
    SubnetEvent,
)
from kaon.work_queue import NetworkWorkQueue

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()
# An event's payload, and a hosting agent as the plugin returns it.
Payload = dict[str, Any]
Agent = dict[str, Any]
Handler = Callable[[Payload], None]
# What is cast to an agent (kaon.wire; the agent reads the same types).
Cast = (NetworkEvent | NetworkDeleteEvent | SubnetEvent | SubnetDeleteEvent
        | PortEvent | PortDeleteEvent)

# Port changes an agent must hear about (Neutron's _notification_is_needed).
_PORT_FIELDS = ('fixed_ips', 'mac_address', 'extra_dhcp_opts',
                'admin_state_up', 'device_owner')
_PRIORITY = {'network_create_end': 0, 'network_update_end': 1,
             'network_delete_end': 2, 'subnet_create_end': 3,
             'subnet_update_end': 3, 'subnet_delete_end': 4,
             'port_create_end': 6, 'port_update_end': 6,
             'port_delete_end': 6}


class DhcpAgentNotifier:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.client = common.client(common.DHCP_AGENT, '1.0')
        self._jobs = NetworkWorkQueue(workers=4, name='dhcp-notifier')
        self.security_groups = SecurityGroupNotifier(plugin)
        handlers: dict[tuple[str, str], Handler] = {
            ('network', 'update'): self._network_updated,
            ('network', 'delete'): self._network_deleted,
            ('subnet', 'create'): self._subnet_created,
            ('subnet', 'update'): self._subnet_updated,
            ('subnet', 'delete'): self._subnet_deleted,
            ('port', 'create'): self._port_created,
            ('port', 'update'): self._port_updated,
            ('port', 'delete'): self._port_deleted,
            ('dhcp_agent_network', 'add'): self._added_to_agent,
            ('dhcp_agent_network', 'remove'): self._removed_from_agent,
            ('agent', 'update'): self._agent_updated,
        }
        for (resource, event), handler in handlers.items():
            plugin.events.subscribe(resource, event, self._enqueuer(handler))

    def start(self) -> DhcpAgentNotifier:
        """Nothing to start: work runs on the queue's pool as it comes."""
        return self

    def stop(self, grace: float = 0.0) -> None:
        """Give the queued casts up to `grace` seconds to go out (with the
        broker down they would wait for it), say so if some are left (they
        are lost with the process), then finish the casts under way.
        Events after this are refused (and logged by the plugin's event
        bus)."""
        idle = self._jobs.wait_idle(grace)
        if not self.security_groups.wait_idle(grace) or not idle:
            LOG.warning('DHCP notifier: casts still queued after %.0f s at '
                        'shutdown (lost with this process)', grace)
        self._jobs.shutdown()
        self.security_groups.stop()

    def reschedule(self, network_id: str) -> None:
        """Find agents for a network that lost one (failover)."""
        self._jobs.submit(network_id, 0, lambda: self._schedule(network_id))

    def wait_idle(self) -> None:
        """Block until every queued event has been cast (tests, shutdown)."""
        self._jobs.wait_idle()
        self.security_groups.wait_idle()

    def _enqueuer(self, handler: Handler
                  ) -> Callable[[str, str, Any, Payload], None]:
        def enqueue(_resource: str, _event: str, _ctx: Any,
                    payload: Payload) -> None:
            self._jobs.submit(network_of(payload), 0,
                              lambda: handler(payload))
        return enqueue

    # Casting.
    def _cast(self, agent: Agent, method: str, payload: Cast,
              priority: int | None = None) -> None:
        if not agent['admin_state_up']:
            return
        wire = {**payload, 'priority': _PRIORITY[method]
                if priority is None else priority}
        cctxt = self.client.prepare(topic=agent['topic'],
                                    server=agent['host'])
        cctxt.cast(common.admin_context(), method, payload=wire)

    def _cast_hosting(self, network_id: str, method: str,
                      payload: Cast) -> None:
        for agent in self._hosting(network_id):
            self._cast(agent, method, payload)

    def _hosting(self, network_id: str) -> list[Agent]:
        return self.plugin.get_dhcp_agents_hosting_networks(ADMIN,
                                                            [network_id])

    def _schedule(self, network_id: str) -> None:
        """Bind the network if it lacks agents; tell the new ones."""
        for agent in self.plugin.schedule_network(ADMIN, network_id):
            self._cast(agent, 'network_create_end',
                       NetworkEvent(network={'id': network_id}))

    def _hosting_and_network(self, network_id: str, schedule: bool
                             ) -> tuple[list[Agent], Payload | None]:
        """The hosting agents and (only if there are any) the network dict,
        in one read; a write to schedule only if the network is short of
        agents and an eligible agent exists."""
        hosting = self.plugin.dhcp_hosting(ADMIN, network_id, schedule)
        if not hosting.can_add_agent:
            return hosting.agents, hosting.network
        self._schedule(network_id)
        return self._hosting(network_id), hosting.network

    # Event handlers.
    def _network_updated(self, payload: Payload) -> None:
        net = payload['network']
        self._cast_hosting(net['id'], 'network_update_end',
                           NetworkEvent(network=wire_shapes.network(net)))

    def _network_deleted(self, payload: Payload) -> None:
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(common.admin_context(), 'network_delete_end', payload={
            'network_id': payload['network_id'],
            'priority': _PRIORITY['network_delete_end']})

    def _subnet_created(self, payload: Payload) -> None:
        self._subnet_changed(payload['subnet'], 'subnet_create_end')

    def _subnet_updated(self, payload: Payload) -> None:
        # By the event, not by an `original_subnet` in it: the plugin's
        # subnet update publishes none.
        self._subnet_changed(payload['subnet'], 'subnet_update_end')

    def _subnet_changed(self, subnet: Payload, method: str) -> None:
        """Scheduled first either way (kaon's agents would otherwise learn
        of a network whose DHCP was switched on only at their next full
        sync); as Neutron's, only subnet_create_end carries the network."""
        agents, network = self._hosting_and_network(subnet['network_id'],
                                                    schedule=True)
        wire = wire_shapes.subnet(subnet, network, in_cast=True)
        if method == 'subnet_create_end':
            wire = cast(Subnet, dict(wire, network=_network(network)))
        event = SubnetEvent(subnet=wire)
        for agent in agents:
            self._cast(agent, method, event)

    def _subnet_deleted(self, payload: Payload) -> None:
        network_id = payload['removed']['network_id']
        self._cast_hosting(network_id, 'subnet_delete_end', SubnetDeleteEvent(
            subnet_id=payload['subnet_id'], network_id=network_id))

    def _port_created(self, payload: Payload) -> None:
        port = payload['port']
        agents, network = self._hosting_and_network(
            port['network_id'],
            schedule=port['device_id'] != DEVICE_ID_RESERVED_DHCP_PORT)
        first = random.choice(agents) if agents else None
        body = PortEvent(port=cast(Port, dict(wire_shapes.port(port),
                                              network=_network(network))))
        for agent in agents:
            # One agent answers first (Neutron's high-priority agent).
            self._cast(agent, 'port_create_end', body,
                       priority=5 if agent is first else 6)

    def _port_updated(self, payload: Payload) -> None:
        port, before = payload['port'], payload['original_port']
        if any(port.get(f) != before.get(f) for f in _PORT_FIELDS):
            self._cast_hosting(port['network_id'], 'port_update_end',
                               PortEvent(port=wire_shapes.port(port)))

    def _port_deleted(self, payload: Payload) -> None:
        port = payload['removed']
        self._cast_hosting(port['network_id'], 'port_delete_end',
                           PortDeleteEvent(port_id=port['id'],
                                           network_id=port['network_id'],
                                           fixed_ips=port['fixed_ips']))

    def _added_to_agent(self, payload: Payload) -> None:
        self._cast(payload['agent'], 'network_create_end',
                   NetworkEvent(network={'id': payload['network_id']}))

    def _removed_from_agent(self, payload: Payload) -> None:
        self._cast(payload['agent'], 'network_delete_end',
                   NetworkDeleteEvent(network_id=payload['network_id']))

    def _agent_updated(self, payload: Payload) -> None:
        agent, before = payload['agent'], payload['original_agent']
        if agent['admin_state_up'] != before['admin_state_up']:
            cctxt = self.client.prepare(topic=agent['topic'],
                                        server=agent['host'])
            cctxt.cast(common.admin_context(), 'agent_updated', payload={
                'admin_state_up': agent['admin_state_up']})


def _network(network: Payload | None) -> Payload | None:
    """The `network` of a subnet or port cast, as Neutron's carry it."""
    return None if network is None else dict(wire_shapes.network(network))


def network_of(payload: Payload) -> str:
    """The network an event belongs to: its events are cast in order."""
    for key in ('port', 'subnet', 'removed'):
        item = payload.get(key)
        if isinstance(item, dict) and 'network_id' in item:
            return str(item['network_id'])
    if 'network' in payload:
        return str(payload['network']['id'])
    return str(payload.get('network_id', ''))
