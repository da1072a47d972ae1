"""Security-group casts to the firewall agents (Neutron's
SecurityGroupAgentRpcApiMixin): fanout on topic
`q-agent-notifier-security_group-update`, version 1.1, each naming the
groups whose filters changed (shared/rpc-examples has Neutron's
member_updated cast).

- security_groups_rule_updated: a rule was added to or removed from these
  groups (also: a deleted group took with it other groups' rules that
  named it as remote group).
- security_groups_member_updated: these groups gained or lost a member
  port, or a member's addresses changed (its fixed IPs, MAC or allowed
  address pairs): every rule naming them as remote group changes.

Sent after commit from one background thread, in the order of the events
(as the DHCP notifier does, and for the same reason: a broker that is down
never makes an API call slow or fail).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.work_queue import NetworkWorkQueue

LOG = logging.getLogger(__name__)
TOPIC = 'q-agent-notifier-security_group-update'
VERSION = '1.1'
Payload = dict[str, Any]
# What makes a port's membership visible to the rules naming its groups.
_MEMBER_FIELDS = ('fixed_ips', 'mac_address', 'allowed_address_pairs')


def _groups(port: Payload | None) -> set[str]:
    return set((port or {}).get('security_groups') or ())


def member_changes(payload: Payload) -> list[str]:
    """The groups a port event changes the membership of (Neutron's
    check_and_notify_security_group_member_changed)."""
    port, before = payload.get('port'), payload.get('original_port')
    if 'removed' in payload:
        return sorted(_groups(payload['removed']))
    if before is None:
        return sorted(_groups(port))
    if _groups(port) != _groups(before):
        return sorted(_groups(port) | _groups(before))
    if port and any(port.get(f) != before.get(f) for f in _MEMBER_FIELDS):
        return sorted(_groups(port))
    return []


class SecurityGroupNotifier:
    def __init__(self, plugin: Plugin) -> None:
        self.client = common.client(TOPIC, VERSION)
        self._jobs = NetworkWorkQueue(workers=1, name='sg-notifier')
        events: dict[tuple[str, str], Callable[[Payload], None]] = {
            ('security_group_rule', 'create'): self._rule_created,
            ('security_group_rule', 'delete'): self._rule_deleted,
            ('security_group', 'delete'): self._group_deleted,
            ('port', 'create'): self._port_changed,
            ('port', 'update'): self._port_changed,
            ('port', 'delete'): self._port_changed,
        }
        for (resource, event), handler in events.items():
            plugin.events.subscribe(resource, event, self._enqueuer(handler))

    def _enqueuer(self, handler: Callable[[Payload], None]
                  ) -> Callable[[str, str, Any, Payload], None]:
        def enqueue(_resource: str, _event: str, _ctx: Any,
                    payload: Payload) -> None:
            self._jobs.submit('', 0, lambda: handler(payload))
        return enqueue

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._jobs.wait_idle(timeout)

    def stop(self) -> None:
        self._jobs.shutdown()

    def _cast(self, method: str, groups: list[str]) -> None:
        if not groups:
            return
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(common.admin_context(), method, security_groups=groups)

    def _rule_created(self, payload: Payload) -> None:
        rule = payload['security_group_rule']
        self._cast('security_groups_rule_updated',
                   [rule['security_group_id']])

    def _rule_deleted(self, payload: Payload) -> None:
        self._cast('security_groups_rule_updated',
                   [payload['removed']['security_group_id']])

    def _group_deleted(self, payload: Payload) -> None:
        self._cast('security_groups_rule_updated',
                   payload['removed']['remote_of'])

    def _port_changed(self, payload: Payload) -> None:
        self._cast('security_groups_member_updated', member_changes(payload))
