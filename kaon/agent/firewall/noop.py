"""firewall driver 'noop': the bookkeeping, no filtering.

For hosts that do not filter (Neutron's NoopFirewallDriver) and tests of
the agent's decisions: it remembers the ports it was given, and nothing
reaches the kernel.
"""
from __future__ import annotations

from typing import Any

from kaon.wire import (
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)


def from_conf(conf: Any) -> NoopFirewallDriver:
    """The entry point of kaon.firewall_drivers 'noop'."""
    return NoopFirewallDriver()


class NoopFirewallDriver:
    """kaon.agent.firewall.base.FirewallDriver that filters nothing."""

    def __init__(self) -> None:
        self._ports: dict[str, SecurityGroupPort] = {}

    @property
    def ports(self) -> dict[str, SecurityGroupPort]:
        return dict(self._ports)

    def prepare_port_filter(self, port: SecurityGroupPort) -> None:
        self._ports[port['id']] = port

    def update_port_filter(self, port: SecurityGroupPort) -> None:
        self._ports[port['id']] = port

    def remove_port_filter(self, port: SecurityGroupPort) -> None:
        self._ports.pop(port['id'], None)

    def update_security_group_rules(self, sg_id: str,
                                    rules: list[SecurityGroupRule]) -> None:
        pass

    def update_security_group_members(self, sg_id: str,
                                      members: SecurityGroupMembers) -> None:
        pass

    def defer_apply_on(self) -> None:
        pass

    def defer_apply_off(self) -> None:
        pass

    def remove_all(self) -> None:
        self._ports.clear()

    def check(self) -> list[str]:
        return []
