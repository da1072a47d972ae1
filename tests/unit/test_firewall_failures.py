"""A firewall that cannot apply says so and tries again: the agent's
decisions with a driver that refuses (kaon's noop driver plus a refusal;
the kernel side is tests/e2e)."""
from __future__ import annotations

import threading
from typing import Callable

from kaon.agent.firewall.agent import FirewallAgent
from kaon.agent.firewall.base import FirewallError
from kaon.agent.firewall.noop import NoopFirewallDriver
from kaon.agent.firewall.service import Updates
from kaon.wire import SecurityGroupRule
from tests.support.firewall import FakeServer

TAP = 'tap' + 'p' * 11


class Refusing(NoopFirewallDriver):
    """Refuses rule updates while `refuse` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = False
        self.rules: dict[str, list[SecurityGroupRule]] = {}

    def update_security_group_rules(self, sg_id: str,
                                    rules: list[SecurityGroupRule]) -> None:
        if self.refuse:
            raise FirewallError('nftables refused the change: test')
        self.rules[sg_id] = rules


def _one_pass(agent: FirewallAgent) -> None:
    """The agent's loop, ended after its first (full) pass."""
    stop = threading.Event()
    check: Callable[[], list[str]] = agent.check

    def check_once() -> list[str]:
        try:
            return check()
        finally:
            stop.set()
    agent.check = check_once  # type: ignore[method-assign]  # see above
    agent.run(stop, poll_interval=0.01, resync_interval=3600)


def test_refused_rules_are_reported_then_retried_by_the_loop() -> None:
    server, driver = FakeServer(), Refusing()
    server.ports['p' * 36] = {
        'id': 'p' * 36, 'network_id': 'n', 'device': TAP,
        'mac_address': 'fa:16:3e:00:00:01', 'fixed_ips': ['10.0.0.1'],
        'security_groups': ['web']}
    server.rules['web'] = [{'direction': 'ingress', 'ethertype': 'IPv4'}]
    agent = FirewallAgent(server, driver)
    agent.taps = lambda: {TAP}  # type: ignore[method-assign]  # no sysfs
    _one_pass(agent)
    assert agent.status == {'ports': 1, 'failures': 0, 'last_error': None}

    driver.refuse = True
    server.rules['web'].append({'direction': 'egress', 'ethertype': 'IPv4'})
    Updates(agent).security_groups_rule_updated(['web'])
    assert agent.status['failures'] == 1
    assert 'refused' in str(agent.status['last_error'])
    _one_pass(agent)            # still refused: still said
    assert agent.status['failures'] == 2 and agent.status['last_error']

    driver.refuse = False
    _one_pass(agent)
    assert len(driver.rules['web']) == 2
    assert agent.status['last_error'] is None
