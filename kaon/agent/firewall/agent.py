"""The agent side of security groups: which taps to filter, and how.

What Neutron's SecurityGroupAgentRpc does for an L2 agent, for the taps
kaon plugs: the ports to filter are this host's bridge ports named like a
kaon tap (kaon.naming.tap) on kaon's bridges (bridge_prefix); their
filters come from the server's security_group_info_for_devices, asked
with the tap names as Neutron's Linux bridge agent asks (the server
matches the port whose id starts with the tap's 11 characters).  The
casts name groups; the agent asks again for the ports they concern and
hands the driver only what the answer carries, in one transaction.  A
resync (on start, then periodically) asks for every tap and first lets
the driver repair whatever was changed behind its back.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import TypedDict

from kaon import naming
from kaon.agent.firewall.base import FirewallDriver, FirewallError, deferred
from kaon.wire import (
    SecurityGroupInfo,
    SecurityGroupPort,
    SecurityGroupRule,
    SecurityGroupServerApi,
)

LOG = logging.getLogger(__name__)
SYS_NET = '/sys/class/net'


class FirewallStatus(TypedDict):
    """What the agent tells about itself (its status file)."""
    ports: int                  # filtered, or known with port security off
    failures: int               # passes and casts that failed, ever
    last_error: str | None      # None once a pass succeeded again


class FirewallAgent:
    """Filters this host's kaon taps; answers SecurityGroupUpdates."""

    def __init__(self, server: SecurityGroupServerApi,
                 driver: FirewallDriver, bridge_prefix: str = 'brq') -> None:
        self.server = server
        self.driver = driver
        self.bridge_prefix = bridge_prefix
        self._lock = threading.RLock()
        self._ports: dict[str, SecurityGroupPort] = {}     # tap -> its port
        self._rules: dict[str, list[SecurityGroupRule]] = {}
        # Taps looked at (the server's unknown ones too: not asked about
        # again on every poll, only on the next sync).
        self._seen: set[str] = set()
        # A cast that could not be applied: the loop's next pass syncs.
        self._sync_wanted = threading.Event()
        self.status = FirewallStatus(ports=0, failures=0, last_error=None)

    def failed(self, err: Exception) -> None:
        """A pass or cast failed: said (log, status) and retried by a
        full sync on the loop's next pass."""
        LOG.error('firewall: applying failed, retrying: %s', err)
        self.status['failures'] += 1
        self.status['last_error'] = f'{type(err).__name__}: {err}'
        self._sync_wanted.set()

    def taps(self) -> set[str]:
        """kaon taps on kaon bridges, now: from sysfs (a bridge's ports
        are the entries of its brif/), a directory read per bridge where
        a netlink dump decoded by pyroute2 took a second for 400 links."""
        found: set[str] = set()
        for bridge in os.listdir(SYS_NET):
            if bridge.startswith(self.bridge_prefix):
                try:
                    ports = os.listdir(os.path.join(SYS_NET, bridge, 'brif'))
                except OSError:     # not a bridge, or gone meanwhile
                    continue
                found.update(p for p in ports
                             if p.startswith(naming.TAP_PREFIX))
        return found

    # -- SecurityGroupUpdates ------------------------------------------------
    def security_groups_rule_updated(self, security_groups: list[str]
                                     ) -> None:
        """Some groups' rules changed: refetch the ports in them."""
        with self._lock:
            changed = set(security_groups)
            self.refresh([tap for tap, port in self._ports.items()
                          if changed & set(port.get('security_groups', []))])

    def security_groups_member_updated(self, security_groups: list[str]
                                       ) -> None:
        """Some groups' members changed: refetch the ports whose rules
        name them as remote groups."""
        with self._lock:
            changed = set(security_groups)
            readers = {sg for sg, rules in self._rules.items()
                       if any(r.get('remote_group_id') in changed
                              for r in rules)}
            self.refresh([tap for tap, port in self._ports.items()
                          if readers & set(port.get('security_groups', []))])

    # -- passes --------------------------------------------------------------
    def refresh(self, taps: list[str]) -> None:
        """Ask the server about these taps and apply the answer.

        :raises FirewallError: the kernel refused (the driver retries on
            its next apply or check).
        :raises oslo_messaging.MessagingException: the server did not
            answer; nothing changed."""
        if not taps:
            return
        with self._lock:
            info = self.server.security_group_info_for_devices(sorted(taps))
            self._apply(info, set(taps))

    def sync(self) -> None:
        """Every tap of this host, from scratch: new taps filtered, taps
        gone unfiltered, each filter as the server has it now.

        :raises: as refresh()."""
        with self._lock:
            taps = self.taps()
            self._seen = taps
            gone = set(self._ports) - taps
            if taps:
                info = self.server.security_group_info_for_devices(
                    sorted(taps))
            else:
                info = {'devices': {}, 'security_groups': {},
                        'sg_member_ips': {}}
            self._apply(info, taps | gone)

    def poll(self) -> None:
        """Filter taps plugged since the last look; forget those gone.

        :raises: as refresh()."""
        with self._lock:
            taps = self.taps()
            new, gone = taps - self._seen, self._seen - taps
            self._seen = taps
            self._apply_gone(gone)
            self.refresh(sorted(new))

    def check(self) -> list[str]:
        """The driver's repair of what changed behind its back, then a
        full sync with the server.

        :raises: as refresh()."""
        with self._lock:
            repaired = self.driver.check()
            self.sync()
            return repaired

    def run(self, stop: threading.Event, poll_interval: float = 2.0,
            resync_interval: float = 60.0) -> None:
        """The agent's loop: sync now, poll for taps, check periodically;
        a failed pass is logged and tried again on the next one."""
        full_due = 0.0
        waited = 0.0
        while not stop.is_set():
            failures = self.status['failures']
            try:
                if waited >= full_due or self._sync_wanted.is_set():
                    self._sync_wanted.clear()
                    self.check()
                    full_due, waited = resync_interval, 0.0
                else:
                    self.poll()
                if self.status['failures'] == failures:
                    self.status['last_error'] = None
                self.status['ports'] = len(self.driver.ports)
            except Exception as err:  # a failed pass must not end the loop
                self.failed(err)
            stop.wait(poll_interval)
            waited += poll_interval

    # -- applying ------------------------------------------------------------
    def _apply(self, info: SecurityGroupInfo, asked: set[str]) -> None:
        answered = {naming.tap(port['id']): port
                    for port in info['devices'].values()}
        with deferred(self.driver):
            for sg, rules in info['security_groups'].items():
                try:
                    self.driver.update_security_group_rules(sg, rules)
                    self._rules[sg] = rules
                except FirewallError as err:    # its old rules stay
                    self.failed(err)
            for sg, members in info['sg_member_ips'].items():
                self.driver.update_security_group_members(sg, members)
            known = self.driver.ports
            for tap, port in answered.items():
                if port['id'] in known:
                    self.driver.update_port_filter(port)
                else:
                    self.driver.prepare_port_filter(port)
                self._ports[tap] = port
            # Asked but unknown to the server: its port is gone.
            self._apply_gone(asked - set(answered))

    def _apply_gone(self, taps: set[str]) -> None:
        for tap in taps:
            port = self._ports.pop(tap, None)
            if port is not None:
                self.driver.remove_port_filter(port)
