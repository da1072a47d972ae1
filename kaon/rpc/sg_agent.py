"""The agent's side of Neutron's security-group RPC, as its L2 agents
have it.

- SecurityGroupServerRpcApi: the call to the server (topic q-plugin, no
  namespace: neutron_lib's RPC_NAMESPACE_SECGROUP is None, so Neutron's
  server target has none), version 1.3 with call_version='1.3' so that
  remote groups' members come as [ip, mac] pairs.
- SecurityGroupCasts and consumer(): the fanout casts of
  kaon.rpc.sg_notifier (or Neutron's SecurityGroupAgentRpcApiMixin) on
  topic q-agent-notifier-security_group-update, version 1.1, handed to a
  kaon.wire.SecurityGroupUpdates (the firewall agent).
"""
from __future__ import annotations

from typing import Any, cast

import oslo_messaging

from kaon.rpc import common
from kaon.wire import SecurityGroupInfo, SecurityGroupUpdates

VERSION = '1.3'
UPDATES_TOPIC = 'q-agent-notifier-security_group-update'
UPDATES_VERSION = '1.1'


class SecurityGroupServerRpcApi:
    """Neutron's SecurityGroupServerRpcApi (a
    kaon.wire.SecurityGroupServerApi)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.client = common.client(common.PLUGIN, '1.0')
        self.timeout = timeout

    def security_group_info_for_devices(self, devices: list[str]
                                        ) -> SecurityGroupInfo:
        cctxt = self.client.prepare(version=VERSION, timeout=self.timeout,
                                    transport_options=common.AT_LEAST_ONCE)
        # The answer is taken as the wire contract says (kaon.wire).
        return cast(SecurityGroupInfo, cctxt.call(
            common.admin_context(), 'security_group_info_for_devices',
            devices=devices, call_version=VERSION))


class SecurityGroupCasts:
    """Neutron's SecurityGroupAgentRpcCallbackMixin: each cast names the
    groups whose rules or members changed."""
    target = oslo_messaging.Target(version=UPDATES_VERSION)

    def __init__(self, agent: SecurityGroupUpdates) -> None:
        self.agent = agent

    def security_groups_rule_updated(self, context: dict[str, Any],
                                     **kwargs: Any) -> None:
        self.agent.security_groups_rule_updated(
            list(kwargs.get('security_groups') or []))

    def security_groups_member_updated(self, context: dict[str, Any],
                                       **kwargs: Any) -> None:
        self.agent.security_groups_member_updated(
            list(kwargs.get('security_groups') or []))


def consumer(host: str, agent: SecurityGroupUpdates) -> Any:
    """An RPC server (start() / stop() / wait()) on the casts' topic: an
    oslo.messaging server also listens to the topic's fanout exchange,
    where the casts go."""
    return common.server(UPDATES_TOPIC, host, [SecurityGroupCasts(agent)])
