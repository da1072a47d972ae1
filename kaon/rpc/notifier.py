"""The DHCP notifier: plugin events become casts to the DHCP agents.

Neutron's DhcpAgentNotifyAPI rules (shared/RPC.md section 5): nothing on
network create; subnet and port creation schedule the network first; casts
go to each hosting agent's own topic `dhcp_agent.<host>`; network delete is
a fanout.  Unlike Neutron, the casts leave from one background thread: the
API request never waits for the broker, and a broker or agent that is down
cannot make `POST /v2.0/ports` slow or fail.  One thread keeps the order of
the events.
"""
from __future__ import annotations

import logging
import random
from typing import Any, Callable

from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.conf import CONF
from kaon.plugin import networks
from kaon.scheduler import dhcp as scheduler
from kaon.work_queue import NetworkWorkQueue

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()

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
        handlers: dict[tuple[str, str], Callable[[dict], None]] = {
            ('network', 'update'): self._network_updated,
            ('network', 'delete'): self._network_deleted,
            ('subnet', 'create'): self._subnet_changed,
            ('subnet', 'update'): self._subnet_changed,
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

    def start(self) -> None:
        """Nothing to start: work runs on the queue's pool as it comes."""

    def reschedule(self, network_id: str) -> None:
        """Find agents for a network that lost one (failover)."""
        self._jobs.submit(network_id, 0, lambda: self._schedule(network_id))

    def wait_idle(self) -> None:
        """Block until every queued event has been cast (tests, shutdown)."""
        self._jobs.wait_idle()

    def _enqueuer(self, handler: Callable[[dict], None]) -> Callable:
        def enqueue(_resource: str, _event: str, _ctx: Any,
                    payload: dict) -> None:
            self._jobs.submit(_network_of(payload), 0,
                              lambda: handler(payload))
        return enqueue

    # Casting.
    def _cast(self, agent: Any, method: str, payload: dict,
              priority: int | None = None) -> None:
        if not agent['admin_state_up']:
            return
        payload = dict(payload, priority=_PRIORITY[method]
                       if priority is None else priority)
        cctxt = self.client.prepare(topic=agent['topic'],
                                    server=agent['host'])
        cctxt.cast(common.admin_context(), method, payload=payload)

    def _cast_hosting(self, network_id: str, method: str,
                      payload: dict) -> None:
        for agent in self._hosting(network_id):
            self._cast(agent, method, payload)

    def _hosting(self, network_id: str) -> list[dict]:
        with self.plugin.db.reading() as conn:
            return [dict(a._mapping) for a in
                    scheduler.hosting_agents(conn, network_id)]

    def _schedule(self, network_id: str) -> None:
        """Bind the network if it lacks agents; tell the new ones."""
        new = self.plugin.db.write(
            lambda conn: scheduler.schedule_network(conn, network_id))
        for agent in new:
            self._cast(dict(agent._mapping), 'network_create_end',
                       {'network': {'id': network_id}})

    def _hosting_and_network(self, network_id: str, schedule: bool
                             ) -> tuple[list[dict], dict | None]:
        """The hosting agents and (only if there are any) the network dict,
        in one read; a write to schedule only if the network is short of
        agents and an eligible agent exists (with no agents at all, a port
        create costs the notifier one read)."""
        with self.plugin.db.reading() as conn:
            agents = [dict(a._mapping)
                      for a in scheduler.hosting_agents(conn, network_id)]
            short = schedule and \
                len(agents) < CONF.dhcp_agents_per_network and \
                scheduler.could_add_agent(conn, {a['id'] for a in agents})
            network = networks.get_network(conn, ADMIN, network_id) \
                if agents or short else None
        if short:
            self._schedule(network_id)
            agents = self._hosting(network_id)
        return agents, network

    # Event handlers.
    def _network_updated(self, payload: dict) -> None:
        net = payload['network']
        self._cast_hosting(net['id'], 'network_update_end', {'network': net})

    def _network_deleted(self, payload: dict) -> None:
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(common.admin_context(), 'network_delete_end', payload={
            'network_id': payload['network_id'],
            'priority': _PRIORITY['network_delete_end']})

    def _subnet_changed(self, payload: dict) -> None:
        subnet = payload['subnet']
        method = 'subnet_update_end' if 'original_subnet' in payload \
            else 'subnet_create_end'
        agents, network = self._hosting_and_network(subnet['network_id'],
                                                    schedule=True)
        for agent in agents:
            self._cast(agent, method, {'subnet': dict(subnet,
                                                      network=network)})

    def _subnet_deleted(self, payload: dict) -> None:
        network_id = payload['removed'].network_id
        self._cast_hosting(network_id, 'subnet_delete_end', {
            'subnet_id': payload['subnet_id'], 'network_id': network_id})

    def _port_created(self, payload: dict) -> None:
        port = payload['port']
        agents, network = self._hosting_and_network(
            port['network_id'],
            schedule=port['device_id'] != 'reserved_dhcp_port')
        first = random.choice(agents) if agents else None
        body = {'port': dict(port, network=network)}
        for agent in agents:
            # One agent answers first (Neutron's high-priority agent).
            self._cast(agent, 'port_create_end', body,
                       priority=5 if agent is first else 6)

    def _port_updated(self, payload: dict) -> None:
        port, before = payload['port'], payload['original_port']
        if any(port.get(f) != before.get(f) for f in _PORT_FIELDS):
            self._cast_hosting(port['network_id'], 'port_update_end',
                               {'port': port})

    def _port_deleted(self, payload: dict) -> None:
        port = payload['removed']
        self._cast_hosting(port['network_id'], 'port_delete_end', {
            'port_id': port['id'], 'network_id': port['network_id'],
            'fixed_ips': port['fixed_ips']})

    def _added_to_agent(self, payload: dict) -> None:
        self._cast(payload['agent'], 'network_create_end',
                   {'network': {'id': payload['network_id']}})

    def _removed_from_agent(self, payload: dict) -> None:
        self._cast(payload['agent'], 'network_delete_end',
                   {'network_id': payload['network_id']})

    def _agent_updated(self, payload: dict) -> None:
        agent, before = payload['agent'], payload['original_agent']
        if agent['admin_state_up'] != before['admin_state_up']:
            cctxt = self.client.prepare(topic=agent['topic'],
                                        server=agent['host'])
            cctxt.cast(common.admin_context(), 'agent_updated', payload={
                'admin_state_up': agent['admin_state_up']})


def _network_of(payload: dict) -> str:
    """The network an event belongs to: its events are cast in order."""
    for key in ('port', 'subnet', 'removed'):
        item = payload.get(key)
        if isinstance(item, dict) and 'network_id' in item:
            return item['network_id']
    if 'network' in payload:
        return payload['network']['id']
    removed = payload.get('removed')
    return payload.get('network_id') or getattr(removed, 'network_id', '')
