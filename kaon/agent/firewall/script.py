"""From one firewall state to another: the nftables script, and the flows
to cut.  Pure: the driver (kaon.agent.firewall.nftables) runs the script
as one transaction and hands the cuts to kaon.agent.firewall.conntrack.

A script from `applied` None rebuilds both tables from nothing (the first
apply, a check, a recovery from a refused transaction); otherwise it
touches only what differs.  Order matters inside a transaction: sets
before the rules that read them, group chains before the port chains
that jump to them, and deletions after the last reference is gone.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Iterable

from kaon import naming
from kaon.agent.firewall import conntrack, ports as P, rules as R
from kaon.wire import (
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)

ETHERTYPES = ('IPv4', 'IPv6')
DIRECTIONS = ('ingress', 'egress')


@dataclasses.dataclass
class State:
    """What the firewall holds: ports (port security on) with their mark
    numbers, groups' rules and members, networks' conntrack zones (by
    bridge)."""
    ports: dict[str, SecurityGroupPort] = dataclasses.field(
        default_factory=dict)
    numbers: dict[str, int] = dataclasses.field(default_factory=dict)
    rules: dict[str, list[SecurityGroupRule]] = dataclasses.field(
        default_factory=dict)
    members: dict[str, SecurityGroupMembers] = dataclasses.field(
        default_factory=dict)
    zones: dict[str, int] = dataclasses.field(default_factory=dict)
    # group -> the (remote group, ethertype) its rules read; filled on
    # demand, dropped by set_rules.
    remotes: dict[str, set[tuple[str, str]]] = dataclasses.field(
        default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.ports), dict(self.numbers),
                     dict(self.rules), dict(self.members), dict(self.zones),
                     dict(self.remotes))

    def set_rules(self, sg: str, rules: list[SecurityGroupRule]) -> None:
        self.rules[sg] = rules
        self.remotes.pop(sg, None)

    def stateful(self, groups: list[str]) -> bool:
        """False when the groups are stateless (Neutron refuses a port
        mixing both; a group whose rules are not known yet counts as
        stateful)."""
        flags = [r.get('stateful', True) for sg in groups
                 for r in self.rules.get(sg, [])[:1]]
        return not flags or any(flags)

    def groups(self) -> set[str]:
        """The groups some port uses: the ones with chains."""
        return {sg for port in self.ports.values()
                for sg in port.get('security_groups') or []}

    def sets(self) -> dict[str, list[str]]:
        """Remote-group set name -> its elements, for the groups used."""
        wanted: dict[str, list[str]] = {}
        for sg in self.groups():
            if sg not in self.remotes:
                self.remotes[sg] = R.remote_groups(self.rules.get(sg, []))
            for group, ethertype in self.remotes[sg]:
                ips = R.member_ips(self.members.get(group, {}), ethertype)
                wanted[R.remote_set(group, ethertype)] = R.set_elements(
                    ips, 4 if ethertype == 'IPv4' else 6)
        return wanted


def delete_tables(table: str) -> str:
    # `add` first: deleting a table that is not there is an error.
    return ''.join(f'add table {family} {table}\n'
                   f'delete table {family} {table}\n'
                   for family in ('bridge', 'inet'))


def _chain(name: str, hook: str, rules: list[str]) -> str:
    head = (f'type filter hook {hook}; policy accept; ' if hook else '')
    return f'  chain {name} {{ {head}\n' + ''.join(
        f'    {rule}\n' for rule in rules) + '  }\n'


def _tables(table: str) -> str:
    """Both tables with what every port shares (kaon.agent.firewall.ports
    describes the layout)."""
    bridge = ''.join(
        f'  set {name} {{ typeof {key}; '
        + ('flags interval; ' if interval else '') + '}\n'
        for name, (key, interval) in P.BRIDGE_SETS.items())
    bridge += '  map dst_marks { typeof oifname : meta mark; }\n'
    bridge += _chain('prerouting_in', 'prerouting priority -200',
                     ['iifname @filtered jump spoof'])
    bridge += _chain('spoof', '', P.SPOOF)
    bridge += _chain('forward_out', 'forward priority -200',
                     ['meta mark set oifname map @dst_marks'])
    inet = ('  map zones { typeof iifname : ct zone; }\n'
            '  map vm_out { typeof iifname . ether saddr : verdict; }\n'
            '  map vm_in { type mark : verdict; }\n')
    inet += _chain('raw', 'prerouting priority -300',
                   ['ct zone set iifname map @zones'])
    out = ['iifname . ether saddr vmap @vm_out']
    inet += _chain('out_fwd', 'forward priority 0', out)
    inet += _chain('out_input', 'input priority 0', out)
    inet += _chain('in_fwd', 'forward priority 10', ['meta mark vmap @vm_in'])
    for direction in DIRECTIONS:
        inet += _chain(P.always_chain(direction), '', P.ALWAYS[direction])
        inet += _chain(P.always_chain(direction, stateful=False), '',
                       P.stateless_always(direction))
    return (delete_tables(table) + f'table bridge {table} {{\n{bridge}}}\n'
            f'table inet {table} {{\n{inet}}}\n')


class _Script:
    def __init__(self, table: str) -> None:
        self.table = table
        self.lines: list[str] = []
        self.deletions: list[str] = []      # after every reference went

    def chain(self, family: str, name: str, rules: Iterable[str],
              new: bool) -> None:
        verb = 'add' if new else 'flush'
        self.lines.append(f'{verb} chain {family} {self.table} {name}')
        self.lines += [f'add rule {family} {self.table} {name} {rule}'
                       for rule in rules]

    def element(self, verb: str, family: str, name: str,
                elements: Iterable[str]) -> None:
        listed = ', '.join(elements)
        if listed:
            self.lines.append(f'{verb} element {family} {self.table} {name} '
                              f'{{ {listed} }}')

    def delete(self, kind: str, family: str, name: str) -> None:
        self.deletions.append(f'delete {kind} {family} {self.table} {name}')


def build(table: str, wanted: State, applied: State | None,
          bridge_prefix: str) -> str:
    """The script taking the kernel from `applied` to `wanted`."""
    out = _Script(table)
    head = ''
    if applied is None:
        head, applied = _tables(table), State()
    wanted_sets, applied_sets = wanted.sets(), applied.sets()
    _sets(out, wanted_sets, applied_sets)
    _groups(out, wanted, applied)
    _ports(out, wanted, applied, bridge_prefix)
    for bridge, zone in wanted.zones.items():
        if applied.zones.get(bridge) != zone:
            if bridge in applied.zones:
                out.element('delete', 'inet', 'zones', [f'"{bridge}"'])
            out.element('add', 'inet', 'zones', [f'"{bridge}" : {zone}'])
    for sg in applied.groups() - wanted.groups():
        for direction in DIRECTIONS:
            out.delete('chain', 'inet', R.group_chain(sg, direction))
    for name in set(applied_sets) - set(wanted_sets):
        out.delete('set', 'inet', name)
    body = '\n'.join(out.lines + out.deletions)
    return head + body + ('\n' if body else '')


def _sets(out: _Script, wanted: dict[str, list[str]],
          applied: dict[str, list[str]]) -> None:
    for name, elements in wanted.items():
        if name not in applied:
            kind = 'ipv4_addr' if name.endswith('-4') else 'ipv6_addr'
            out.lines.append(f'add set inet {out.table} {name} '
                             f'{{ type {kind}; flags interval; }}')
            out.element('add', 'inet', name, elements)
            continue
        old = set(applied[name])
        out.element('delete', 'inet', name,
                    [e for e in applied[name] if e not in elements])
        out.element('add', 'inet', name, [e for e in elements
                                          if e not in old])


def _groups(out: _Script, wanted: State, applied: State) -> None:
    had = applied.groups()
    for sg in sorted(wanted.groups()):
        rules = wanted.rules.get(sg, [])
        if sg in had and applied.rules.get(sg, []) == rules:
            continue
        for direction in DIRECTIONS:
            out.chain('inet', R.group_chain(sg, direction),
                      [R.rule_line(r) for r in rules
                       if r['direction'] == direction], new=sg not in had)


def _ports(out: _Script, wanted: State, applied: State,
           bridge_prefix: str) -> None:
    """Port chains first (a map element may jump to them), then element
    deletions before additions (a key may move from one port to another),
    chain deletions last (out.deletions)."""
    gone: P.Elements = {}
    came: P.Elements = {}

    def owned(state: State, pid: str) -> P.Elements:
        port = state.ports[pid]
        return P.elements(port, state.numbers[pid], naming.bridge(
            bridge_prefix, port['network_id']))

    for pid, port in wanted.ports.items():
        old = applied.ports.get(pid)
        if old == port and applied.numbers[pid] == wanted.numbers[pid]:
            continue
        groups = port.get('security_groups') or []
        stateful = wanted.stateful(groups)
        if old is None or old.get('security_groups') != groups \
                or applied.stateful(groups) != stateful:
            for direction in DIRECTIONS:
                out.chain('inet', P.port_chain(direction, pid),
                          P.port_rules(direction, groups, stateful),
                          new=old is None)
        _diff(owned(applied, pid) if old is not None else {},
              owned(wanted, pid), gone, came)
    for pid in set(applied.ports) - set(wanted.ports):
        _diff(owned(applied, pid), {}, gone, came)
        for direction in DIRECTIONS:
            out.delete('chain', 'inet', P.port_chain(direction, pid))
    for (family, name), keys in gone.items():
        out.element('delete', family, name, keys)
    for (family, name), items in came.items():
        out.element('add', family, name,
                    [k if v is None else f'{k} : {v}'
                     for k, v in items.items()])


def _diff(old: P.Elements, new: P.Elements, gone: P.Elements,
          came: P.Elements) -> None:
    for where in set(old) | set(new):
        before, after = old.get(where, {}), new.get(where, {})
        for key, value in before.items():
            if after.get(key, '-') != value:
                gone.setdefault(where, {})[key] = None
        for key, value in after.items():
            if before.get(key, '-') != value:
                came.setdefault(where, {})[key] = value


# -- flows to cut -----------------------------------------------------
def _addresses(port: SecurityGroupPort, version: int) -> frozenset[str]:
    return frozenset(ip for ip in port['fixed_ips']
                     if ipaddress.ip_address(ip).version == version)


def _members(state: State, group: str, ethertype: str) -> set[str]:
    return set(R.member_ips(state.members.get(group, {}), ethertype))


def cuts(old: State, new: State, bridge_prefix: str) -> list[conntrack.Cut]:
    """The flows `old` allowed that `new` may not: those of removed rules,
    of addresses that left a remote group, of ports removed or moved to
    other groups (Neutron's conntrack clean-ups)."""
    found: list[conntrack.Cut] = []

    def zone(state: State, port: SecurityGroupPort) -> int:
        return state.zones[naming.bridge(bridge_prefix, port['network_id'])]

    def for_rule(rule: SecurityGroupRule, port: SecurityGroupPort,
                 remote: frozenset[conntrack.Network] | None,
                 protocol: int | None) -> None:
        version = 4 if rule['ethertype'] == 'IPv4' else 6
        found.append(conntrack.Cut(zone(new, port), version,
                                   _addresses(port, version), remote,
                                   rule['direction'] == 'ingress', protocol))

    kept = {pid: p for pid, p in new.ports.items() if pid in old.ports and
            old.ports[pid].get('security_groups') == p.get('security_groups')}
    left = {group: {e: _members(old, group, e) - _members(new, group, e)
                    for e in ETHERTYPES}
            for group in old.members
            if old.members[group] != new.members.get(group)}
    touched = {sg for sg in old.groups() & new.groups()
               if old.rules.get(sg) != new.rules.get(sg)
               or bool(left) and any(r.get('remote_group_id') in left
                                     for r in new.rules.get(sg, []))}
    users: dict[str, list[SecurityGroupPort]] = {}
    for port in kept.values() if touched else []:
        for sg in set(port['security_groups']) & touched:
            users.setdefault(sg, []).append(port)
    for sg in touched:
        for rule in old.rules.get(sg, []):
            if rule in new.rules.get(sg, []):
                continue
            proto = R.protocol_number(rule.get('protocol'), rule['ethertype'])
            for port in users.get(sg, []):
                for_rule(rule, port, _rule_remote(old, rule), proto)
        for rule in new.rules.get(sg, []):
            gone = left.get(rule.get('remote_group_id', ''), {}).get(
                rule['ethertype'])
            for port in users.get(sg, []) if gone else []:
                for_rule(rule, port, conntrack.networks(gone or []), None)
    for pid, port in old.ports.items():
        if pid not in kept:
            for version in (4, 6):
                for inbound in (True, False):
                    found.append(conntrack.Cut(
                        zone(old, port), version, _addresses(port, version),
                        None, inbound))
    return found


def _rule_remote(state: State, rule: SecurityGroupRule
                 ) -> frozenset[conntrack.Network] | None:
    group = rule.get('remote_group_id')
    if group is not None:
        return conntrack.networks(_members(state, group, rule['ethertype']))
    prefix = R.remote_prefix(rule)
    return None if prefix is None else conntrack.networks([prefix])
