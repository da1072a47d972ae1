"""The nftables firewall driver: security groups on VM taps.

Why this shape.  Conntrack in the bridge family needs
CONFIG_NF_CONNTRACK_BRIDGE, which not every kernel has (this one has
not), but br_netfilter passes bridged IPv4/IPv6 through the inet hooks,
where conntrack works.  There the in/out device is the bridge, not the
tap.  So the stateless part runs in a bridge-family table, which sees the
taps: anti-spoofing (before br_netfilter's hooks, priority -200 < 0) and
a mark naming the destination tap's port (forward).  The stateful part
runs in an inet-family table: a packet from a VM is told by (bridge,
source MAC), which anti-spoofing vouched for; one to a VM by the mark.
Egress and ingress are two base chains of the forward hook: `accept` ends
one base chain only, so a packet between two VMs of this host passes the
sender's egress and the receiver's ingress, as Neutron's RETURN-chained
iptables rules do.  Conntrack zones are per network (the bridge, set in
the raw prerouting hook), as Neutron's Linux bridge agent does:
overlapping tenant addresses on two networks never share a flow.
kaon.agent.firewall.ports has the layout in detail.

Changes are computed as the difference between the wanted state (what
the agent said) and the applied one (what the last transaction wrote),
and written as one libnftables transaction: a rule change rewrites its
group's two chains, a member change adds and deletes set elements, a port
its set and map elements (and its two chains if its groups changed).
Anything refused leaves the kernel as it was.  The mark values
(0x6b000000 | port number) are kaon's on frames to its taps: another
user of packet marks on the same frames would be overwritten.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, TypeVar

from kaon import naming
from kaon.agent.firewall import (
    conntrack,
    drift,
    nfnetlink,
    ports as P,
    rules as R,
    script,
)
from kaon.agent.firewall.base import FirewallError
from kaon.agent.firewall.nft import Nft, NftError
from kaon.agent.firewall.script import State
from kaon.wire import (
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)

LOG = logging.getLogger(__name__)
T = TypeVar('T')
TABLE = 'kaon_fw'
SYSCTLS = ('/proc/sys/net/bridge/bridge-nf-call-iptables',
           '/proc/sys/net/bridge/bridge-nf-call-ip6tables')


class NftablesDriver:
    """kaon.agent.firewall.base.FirewallDriver over nftables."""

    def __init__(self, bridge_prefix: str = 'brq', table: str = TABLE,
                 nft: Nft | None = None) -> None:
        self.bridge_prefix = bridge_prefix
        self.table = table
        self.nft = nft or Nft()
        self._lock = threading.RLock()
        self._wanted = State()
        self._applied: State | None = None     # None: rebuild everything
        # Port security off: known, not filtered.
        self._unfiltered: dict[str, SecurityGroupPort] = {}
        self._deferred = 0
        self._generation = -1       # nf_tables' after our last commit
        self._next_number = 1       # where the search for a free one starts
        self._nf: nfnetlink.Netfilter | None = None
        _enable_br_netfilter()
        self._wanted.zones = self._zones_in_kernel()

    # -- the FirewallDriver calls ------------------------------------------
    @property
    def ports(self) -> dict[str, SecurityGroupPort]:
        with self._lock:
            return {**self._unfiltered, **self._wanted.ports}

    def prepare_port_filter(self, port: SecurityGroupPort) -> None:
        self.update_port_filter(port)

    def update_port_filter(self, port: SecurityGroupPort) -> None:
        with self._lock:
            pid = port['id']
            if port.get('port_security_enabled', True):
                self._unfiltered.pop(pid, None)
                self._wanted.ports[pid] = port
                self._number(pid)
                self._zone(port)
            else:
                self._forget(pid)
                self._unfiltered[pid] = port
            self._apply_unless_deferred()

    def remove_port_filter(self, port: SecurityGroupPort) -> None:
        with self._lock:
            self._forget(port['id'])
            self._unfiltered.pop(port['id'], None)
            self._apply_unless_deferred()

    def update_security_group_rules(self, sg_id: str,
                                    rules: list[SecurityGroupRule]) -> None:
        try:
            for rule in rules:
                R.rule_line(rule)
        except (R.RuleError, ValueError, KeyError) as err:
            raise FirewallError(f'security group {sg_id}: {err}') from None
        with self._lock:
            self._wanted.set_rules(sg_id, list(rules))
            self._apply_unless_deferred()

    def update_security_group_members(self, sg_id: str,
                                      members: SecurityGroupMembers) -> None:
        with self._lock:
            self._wanted.members[sg_id] = members
            self._apply_unless_deferred()

    def defer_apply_on(self) -> None:
        with self._lock:
            self._deferred += 1

    def defer_apply_off(self) -> None:
        with self._lock:
            self._deferred -= 1
            self._apply_unless_deferred()

    def check(self) -> list[str]:
        """Unchanged generation since the last commit: nothing to do.
        Else the tables are listed, rebuilt and listed again, and what
        differed is logged.  (A commit by another process in the instant
        between ours and the reading of the generation would go unseen
        until the next commit by anyone.)"""
        with self._lock:
            if self._applied is not None and \
                    self._generation == self._netlink(
                        nfnetlink.Netfilter.generation):
                return []
            before = self._picture()
            self._applied = None
            self._apply()
            lines = drift.differences(before, self._picture())
        for line in lines:
            LOG.warning('firewall repaired: %s', line)
        return lines

    def remove_all(self) -> None:
        """Delete kaon's tables: nothing filtered any more."""
        with self._lock:
            self._wanted = State()
            self._unfiltered.clear()
            self._run(script.delete_tables(self.table))
            self._applied = None
            if self._nf is not None:
                self._nf.close()
                self._nf = None

    # -- state ---------------------------------------------------------------
    def _forget(self, pid: str) -> None:
        self._wanted.ports.pop(pid, None)
        self._wanted.numbers.pop(pid, None)

    def _number(self, pid: str) -> None:
        """A mark number no port holds, here or in the kernel yet."""
        if pid in self._wanted.numbers:
            return
        taken = set(self._wanted.numbers.values())
        if self._applied is not None:
            taken |= set(self._applied.numbers.values())
        number = self._next_number
        while number in taken:
            number = number % P.MAX_PORT_NUMBER + 1
            if number == self._next_number:
                raise FirewallError('more than 65535 filtered ports')
        self._wanted.numbers[pid] = number
        self._next_number = number % P.MAX_PORT_NUMBER + 1

    def _zone(self, port: SecurityGroupPort) -> None:
        bridge = naming.bridge(self.bridge_prefix, port['network_id'])
        zones = self._wanted.zones
        if bridge not in zones:
            zones[bridge] = next(n for n in range(1, 0x10000)
                                 if n not in zones.values())

    def _zones_in_kernel(self) -> dict[str, int]:
        """The zones a previous agent gave, kept: a new zone would make
        every established flow new again."""
        try:
            objects = self.nft.list_json(
                f'list map inet {self.table} zones')
        except NftError:
            return {}
        zones: dict[str, int] = {}
        for obj in objects:
            for key, value in obj.get('map', {}).get('elem', []):
                zones[str(key)] = int(value)
        return zones

    # -- applying ----------------------------------------------------------
    def _apply_unless_deferred(self) -> None:
        if not self._deferred:
            self._apply()

    def _apply(self) -> None:
        wanted, applied = self._wanted, self._applied
        text = script.build(self.table, wanted, applied,
                            self.bridge_prefix)
        if not text:
            return
        self._run(text)
        try:
            self._generation = self._netlink(nfnetlink.Netfilter.generation)
        except OSError as err:     # the next check compares in full
            LOG.warning('nf_tables generation unreadable: %s', err)
            self._generation = -1
        self._applied = wanted.copy()
        if applied is not None:
            self._cut_flows(applied, wanted)

    def _run(self, text: str) -> None:
        try:
            self.nft.run(text)
        except NftError as err:
            self._applied = None    # unknown now: the next apply rebuilds
            raise FirewallError(f'nftables refused the change: {err}') \
                from None

    def _cut_flows(self, old: State, new: State) -> None:
        try:
            cuts = script.cuts(old, new, self.bridge_prefix)
            if cuts:
                count = self._netlink(conntrack.cut, cuts)
                LOG.debug('%d flows cut', count)
        except OSError as err:
            LOG.error('could not cut the flows removed rules allowed: %s',
                      err)

    def _netlink(self, call: Callable[..., T], *args: Any) -> T:
        """`call(socket, *args)` on the driver's one nfnetlink socket
        (a socket per call cost milliseconds to close); a socket a
        failure may have left mid-answer is replaced."""
        if self._nf is None:
            self._nf = nfnetlink.Netfilter()
        try:
            return call(self._nf, *args)
        except OSError:
            self._nf.close()
            self._nf = None
            raise

    def _picture(self) -> drift.Picture:
        objects = []
        try:
            for family in ('bridge', 'inet'):
                objects += self.nft.list_json(
                    f'list table {family} {self.table}')
        except NftError as err:
            raise FirewallError(f'cannot list the tables: {err}') from None
        return drift.picture(objects)


def from_conf(conf: Any) -> NftablesDriver:
    """The entry point of kaon.firewall_drivers 'nftables'.

    :raises FirewallError: br_netfilter cannot be enabled."""
    return NftablesDriver(bridge_prefix=conf.bridge_prefix,
                          table=conf.firewall_table)


def _enable_br_netfilter() -> None:
    """Bridged IP must pass the inet hooks (Neutron's Linux bridge agent
    sets the same)."""
    for path in SYSCTLS:
        try:
            with open(path, 'r+') as f:
                if f.read().strip() != '1':
                    f.seek(0)
                    f.write('1')
        except OSError as err:
            raise FirewallError(f'{path}: {err} (br_netfilter missing?)') \
                from None
