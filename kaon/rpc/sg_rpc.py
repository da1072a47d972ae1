"""The security-group RPC of Neutron, both ends of the call.

Server: SecurityGroupServerRpcCallback on topic `q-plugin`, no namespace
(neutron_lib's RPC_NAMESPACE_SECGROUP is None: a Neutron agent calls
without one), target 1.3 (Neutron's): a firewall agent asks
security_group_info_for_devices and gets kaon.wire.SecurityGroupInfo.
Callers older than 1.3 (call_version absent or lower) get the members
without MACs, as Neutron's make_compatible_sg_member_ips gives them.

Client: kaon.rpc.sg_agent.SecurityGroupServerRpcApi (the agent's side,
which must not import the plugin), re-exported here.
"""
from __future__ import annotations

from typing import Any

import oslo_messaging

from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc.sg_agent import VERSION, SecurityGroupServerRpcApi
from kaon.wire import SecurityGroupInfo

ADMIN = Context.admin()
NAMESPACE = None
__all__ = ['SecurityGroupServerRpcCallback', 'SecurityGroupServerRpcApi']


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split('.'))


def _without_macs(info: SecurityGroupInfo) -> SecurityGroupInfo:
    members: dict[str, Any] = info['sg_member_ips']
    for group, by_type in members.items():
        members[group] = {eth: sorted({pair[0] for pair in pairs})
                          for eth, pairs in by_type.items()}
    return info


class SecurityGroupServerRpcCallback:
    target = oslo_messaging.Target(version=VERSION, namespace=NAMESPACE)

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def security_group_info_for_devices(self, context: dict[str, Any],
                                        **kwargs: Any) -> SecurityGroupInfo:
        """The devices (port ids or interface names), their groups' rules
        and their remote groups' members."""
        call_version = kwargs.get('call_version', '1.2')
        info = self.plugin.security_group_info_for_ports(
            ADMIN, list(kwargs.get('devices') or []))
        if _version(call_version) < (1, 3):
            return _without_macs(info)
        return info
