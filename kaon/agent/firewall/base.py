"""What a firewall driver does for the agent (Neutron's FirewallDriver).

The agent hands a driver ports (kaon.wire.SecurityGroupPort:
mac_address, fixed_ips as strings, allowed_address_pairs,
security_groups, port_security_enabled)
and security groups' rules and members, as security_group_info_for_devices
answers them.  Calls between defer_apply_on() and defer_apply_off() are
gathered and reach the kernel as one transaction at the end, so one agent
pass is one kernel change; outside of that every call applies at once.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Protocol

from kaon.wire import (
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)


class FirewallError(RuntimeError):
    """The kernel refused the filter; what it had before stays in force."""


class FirewallDriver(Protocol):
    """Security groups and anti-spoofing on this host's VM taps."""

    @property
    def ports(self) -> dict[str, SecurityGroupPort]:
        """The ports filtered now, by id."""

    def prepare_port_filter(self, port: SecurityGroupPort) -> None:
        """Start filtering a port (its tap, kaon.naming.tap, exists).

        :raises FirewallError: when applied now and refused."""

    def update_port_filter(self, port: SecurityGroupPort) -> None:
        """The port's addresses, pairs, groups or port security changed.

        :raises FirewallError: as prepare_port_filter."""

    def remove_port_filter(self, port: SecurityGroupPort) -> None:
        """Stop filtering; the tap is left to whoever unplugs it.

        :raises FirewallError: as prepare_port_filter."""

    def update_security_group_rules(self, sg_id: str,
                                    rules: list[SecurityGroupRule]) -> None:
        """A group's whole rule list; only its own chains are rewritten,
        and flows a removed rule allowed are cut.

        :raises FirewallError: as prepare_port_filter; also a rule the
            kernel cannot express (then the group's old rules stay)."""

    def update_security_group_members(self, sg_id: str,
                                      members: SecurityGroupMembers) -> None:
        """A remote group's addresses; only its sets change, and flows
        from or to addresses that left are cut.

        :raises FirewallError: as prepare_port_filter."""

    def defer_apply_on(self) -> None:
        """Gather changes until defer_apply_off()."""

    def defer_apply_off(self) -> None:
        """Apply what was gathered, as one transaction.

        :raises FirewallError: refused; the kernel keeps its old rules
            and the driver still holds the wanted state (the next apply
            or check tries again)."""

    def remove_all(self) -> None:
        """Stop filtering every port: the host's filters go.

        :raises FirewallError: as prepare_port_filter."""

    def check(self) -> list[str]:
        """Bring the kernel back to the driver's state; one line per
        difference found ([] when nothing had drifted).

        :raises FirewallError: the re-apply was refused."""


@contextlib.contextmanager
def deferred(driver: FirewallDriver) -> Iterator[None]:
    """`with deferred(driver):` one transaction for the block's calls."""
    driver.defer_apply_on()
    try:
        yield
    finally:
        driver.defer_apply_off()
