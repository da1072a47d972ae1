"""The L2 agents' notifier: plugin events become l2population's
forwarding-entry casts and ML2's agent fanouts (kaon.wire_l2 has the
topics and payloads):

* ('l2pop', 'wired'): add_fdb_entries fanned out (and a move's
  remove_fdb_entries first); the full table cast to the one host on
  `L2POP_TOPIC.<host>` when it is due (kaon.plugin.l2pop);
* ('l2pop', 'unwired'): remove_fdb_entries fanned out;
* a port deleted or moved to another host, a network deleted: their
  entries are removed (kaon.plugin.l2pop.reconcile, a write of its own
  after the change committed), port_delete / network_delete fanned out;
* a port update that an agent wiring it must hear of: port_update.

As kaon.rpc.notifier's DhcpAgentNotifier: casts leave after commit from
background threads (a broker that is down never makes an API call or an
agent's call slow or fail), one network's in the order of its events;
and one notifier per process whose plugin publishes events
(kaon.service.rpc says why): the API workers' ports deletes and the RPC
server's device reports each come through their own process's.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from kaon import wire_shapes
from kaon.plugin.core import Plugin
from kaon.plugin.l2pop import Wiring
from kaon.rpc import common

# One rule for which network an event is of, for both notifiers.
from kaon.rpc.notifier import network_of
from kaon.wire_l2 import (
    AGENT_NOTIFIER,
    L2POP_TOPIC,
    NETWORK_DELETE_TOPIC,
    PORT_DELETE_TOPIC,
    PORT_UPDATE_TOPIC,
    FdbEntries,
)
from kaon.work_queue import NetworkWorkQueue

LOG = logging.getLogger(__name__)
VERSION = '1.0'
Payload = dict[str, Any]
Handler = Callable[[Payload], None]
# Port changes an L2 agent acts on (ML2's need_port_update_notify).
_PORT_FIELDS = ('admin_state_up', 'fixed_ips', 'mac_address',
                'binding:host_id', 'security_groups',
                'allowed_address_pairs', 'port_security_enabled')
HOST = 'binding:host_id'


class L2AgentNotifier:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.client = common.client(AGENT_NOTIFIER, VERSION)
        self._jobs = NetworkWorkQueue(workers=2, name='l2-notifier')
        subscribed: dict[tuple[str, str], Handler] = {
            ('l2pop', 'wired'): self._wired,
            ('l2pop', 'unwired'): self._unwired,
            ('port', 'update'): self._port_updated,
            ('port', 'delete'): self._port_deleted,
            ('network', 'delete'): self._network_deleted,
        }
        for key, handler in subscribed.items():
            plugin.events.subscribe(*key, functools.partial(self._queue,
                                                            handler))

    def _queue(self, handler: Handler, _resource: str, _event: str,
               _ctx: Any, payload: Payload) -> None:
        """Events after commit: queued, cast by the pool in order."""
        self._jobs.submit(network_of(payload), 0, lambda: handler(payload))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._jobs.wait_idle(timeout)

    def stop(self, grace: float = 0.0) -> None:
        """As DhcpAgentNotifier.stop: `grace` seconds for queued casts."""
        if not self._jobs.wait_idle(grace):
            LOG.warning('L2 notifier: casts still queued after %.0f s at '
                        'shutdown (lost with this process)', grace)
        self._jobs.shutdown()

    # Casting.
    def _fanout(self, topic: str, method: str, **kwargs: Any) -> None:
        cctxt = self.client.prepare(topic=topic, fanout=True)
        cctxt.cast(common.admin_context(), method, **kwargs)

    def _fdb(self, method: str, entries: FdbEntries | None,
             host: str | None = None) -> None:
        if not entries:
            return
        if host is None:
            self._fanout(L2POP_TOPIC, method, fdb_entries=entries)
            return
        cctxt = self.client.prepare(topic=L2POP_TOPIC, server=host)
        cctxt.cast(common.admin_context(), method, fdb_entries=entries)

    def _reconcile(self, network_id: str) -> None:
        self._fdb('remove_fdb_entries',
                  self.plugin.l2pop_reconcile(network_id))

    # Event handlers.
    def _wired(self, payload: Payload) -> None:
        wiring: Wiring = payload['wiring']
        self._fdb('remove_fdb_entries', wiring.removed)
        self._fdb('add_fdb_entries', wiring.added)
        self._fdb('add_fdb_entries', wiring.full, host=payload['host'])

    def _unwired(self, payload: Payload) -> None:
        self._fdb('remove_fdb_entries', payload['removed'])

    def _port_updated(self, payload: Payload) -> None:
        port, before = payload['port'], payload.get('original_port') or {}
        if port.get(HOST) != before.get(HOST):
            self._reconcile(port['network_id'])
        if any(port.get(f) != before.get(f) for f in _PORT_FIELDS):
            segment = self.plugin.segment(port['network_id'])
            self._fanout(PORT_UPDATE_TOPIC, 'port_update',
                         port=wire_shapes.port(port),
                         network_type=segment['provider:network_type'],
                         segmentation_id=segment['provider:segmentation_id'],
                         physical_network=segment[
                             'provider:physical_network'])

    def _port_deleted(self, payload: Payload) -> None:
        port = payload['removed']
        self._fanout(PORT_DELETE_TOPIC, 'port_delete', port_id=port['id'])
        self._reconcile(port['network_id'])

    def _network_deleted(self, payload: Payload) -> None:
        network_id = payload['network_id']
        self._fanout(NETWORK_DELETE_TOPIC, 'network_delete',
                     network_id=network_id)
        self._reconcile(network_id)

