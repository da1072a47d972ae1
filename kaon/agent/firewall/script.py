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
from kaon.agent.firewall import conntrack, rules as R
from kaon.wire import Port, SecurityGroupMembers, SecurityGroupRule

ETHERTYPES = ('IPv4', 'IPv6')
DIRECTIONS = ('ingress', 'egress')


@dataclasses.dataclass
class State:
    """What the firewall holds: ports (port security on) with their mark
    numbers, groups' rules and members, networks' conntrack zones (by
    bridge)."""
    ports: dict[str, Port] = dataclasses.field(default_factory=dict)
    numbers: dict[str, int] = dataclasses.field(default_factory=dict)
    rules: dict[str, list[SecurityGroupRule]] = dataclasses.field(
        default_factory=dict)
    members: dict[str, SecurityGroupMembers] = dataclasses.field(
        default_factory=dict)
    zones: dict[str, int] = dataclasses.field(default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.ports), dict(self.numbers),
                     dict(self.rules), dict(self.members), dict(self.zones))

    def groups(self) -> set[str]:
        """The groups some port uses: the ones with chains."""
        return {sg for port in self.ports.values()
                for sg in port.get('security_groups') or []}

    def sets(self) -> dict[str, list[str]]:
        """Remote-group set name -> its elements, for the groups used."""
        wanted: dict[str, list[str]] = {}
        for sg in self.groups():
            for group, ethertype in R.remote_groups(self.rules.get(sg, [])):
                ips = R.member_ips(self.members.get(group, {}), ethertype)
                wanted[R.remote_set(group, ethertype)] = R.set_elements(
                    ips, 4 if ethertype == 'IPv4' else 6)
        return wanted


def delete_tables(table: str) -> str:
    # `add` first: deleting a table that is not there is an error.
    return ''.join(f'add table {family} {table}\n'
                   f'delete table {family} {table}\n'
                   for family in ('bridge', 'inet'))


def _tables(table: str) -> str:
    return delete_tables(table) + f"""table bridge {table} {{
  map from_vm {{ type ifname : verdict; }}
  map to_vm {{ type ifname : verdict; }}
  chain prerouting_in {{ type filter hook prerouting priority -200;
    policy accept;
    iifname vmap @from_vm; }}
  chain forward_out {{ type filter hook forward priority -200; policy accept;
    oifname vmap @to_vm; }}
}}
table inet {table} {{
  map zones {{ typeof iifname : ct zone; }}
  map vm_out {{ type mark : verdict; }}
  map vm_in {{ type mark : verdict; }}
  chain raw {{ type filter hook prerouting priority -300; policy accept;
    ct zone set iifname map @zones; }}
  chain out_fwd {{ type filter hook forward priority 0; policy accept;
    meta mark & {R.MARK_IN:#010x} vmap @vm_out; }}
  chain out_input {{ type filter hook input priority 0; policy accept;
    meta mark & {R.MARK_IN:#010x} vmap @vm_out; }}
  chain in_fwd {{ type filter hook forward priority 10; policy accept;
    meta mark & {R.MARK_OUT:#010x} vmap @vm_in; }}
}}
"""


class _Script:
    def __init__(self, table: str) -> None:
        self.table = table
        self.lines: list[str] = []

    def chain(self, family: str, name: str, rules: Iterable[str],
              new: bool) -> None:
        verb = 'add' if new else 'flush'
        self.lines.append(f'{verb} chain {family} {self.table} {name}')
        self.lines += [f'add rule {family} {self.table} {name} {rule}'
                       for rule in rules]

    def element(self, verb: str, family: str, name: str,
                elements: list[str]) -> None:
        if elements:
            self.lines.append(f'{verb} element {family} {self.table} {name} '
                              '{ ' + ', '.join(elements) + ' }')

    def delete_chain(self, family: str, name: str) -> None:
        self.lines.append(f'delete chain {family} {self.table} {name}')


def build(table: str, wanted: State, applied: State | None) -> str:
    """The script taking the kernel from `applied` to `wanted`."""
    out = _Script(table)
    head = ''
    if applied is None:
        head, applied = _tables(table), State()
    wanted_sets, applied_sets = wanted.sets(), applied.sets()
    _sets(out, wanted_sets, applied_sets)
    _groups(out, wanted, applied)
    _ports(out, wanted, applied)
    for bridge, zone in wanted.zones.items():
        if applied.zones.get(bridge) != zone:
            if bridge in applied.zones:
                out.element('delete', 'inet', 'zones', [f'"{bridge}"'])
            out.element('add', 'inet', 'zones', [f'"{bridge}" : {zone}'])
    for sg in applied.groups() - wanted.groups():
        for direction in DIRECTIONS:
            out.delete_chain('inet', R.group_chain(sg, direction))
    for name in set(applied_sets) - set(wanted_sets):
        out.lines.append(f'delete set inet {table} {name}')
    body = '\n'.join(out.lines)
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


def _ports(out: _Script, wanted: State, applied: State) -> None:
    for pid, port in wanted.ports.items():
        number = wanted.numbers[pid]
        old = applied.ports.get(pid)
        renumbered = old is not None and applied.numbers[pid] != number
        if renumbered:
            _unmap(out, pid, applied)
        if old is not None and old == port and not renumbered:
            continue
        new = old is None
        groups = port.get('security_groups') or []
        out.chain('bridge', R.spoof_chain(pid), R.spoof_rules(port, number),
                  new)
        out.chain('bridge', R.dest_chain(pid), R.dest_rules(number), new)
        for direction in DIRECTIONS:
            out.chain('inet', R.port_chain(direction, pid),
                      R.port_rules(direction, groups), new)
        if new or renumbered:
            _map(out, pid, number)
    for pid in set(applied.ports) - set(wanted.ports):
        _unmap(out, pid, applied)
        out.delete_chain('bridge', R.spoof_chain(pid))
        out.delete_chain('bridge', R.dest_chain(pid))
        for direction in DIRECTIONS:
            out.delete_chain('inet', R.port_chain(direction, pid))


def _map_entries(pid: str, number: int) -> list[tuple[str, str, str, str]]:
    tap = f'"{naming.tap(pid)}"'
    return [('bridge', 'from_vm', tap, R.spoof_chain(pid)),
            ('bridge', 'to_vm', tap, R.dest_chain(pid)),
            ('inet', 'vm_out', f'{number:#010x}',
             R.port_chain('egress', pid)),
            ('inet', 'vm_in', f'{number << 16:#010x}',
             R.port_chain('ingress', pid))]


def _map(out: _Script, pid: str, number: int) -> None:
    for family, name, key, chain in _map_entries(pid, number):
        out.element('add', family, name, [f'{key} : jump {chain}'])


def _unmap(out: _Script, pid: str, applied: State) -> None:
    for family, name, key, _ in _map_entries(pid, applied.numbers[pid]):
        out.element('delete', family, name, [key])


# -- flows to cut -----------------------------------------------------
def _addresses(port: Port, version: int) -> frozenset[str]:
    return frozenset(ip['ip_address'] for ip in port['fixed_ips']
                     if ipaddress.ip_address(ip['ip_address']).version
                     == version)


def _members(state: State, group: str, ethertype: str) -> set[str]:
    return set(R.member_ips(state.members.get(group, {}), ethertype))


def cuts(old: State, new: State, bridge_prefix: str) -> list[conntrack.Cut]:
    """The flows `old` allowed that `new` may not: those of removed rules,
    of addresses that left a remote group, of ports removed or moved to
    other groups (Neutron's conntrack clean-ups)."""
    found: list[conntrack.Cut] = []

    def zone(state: State, port: Port) -> int:
        return state.zones[naming.bridge(bridge_prefix, port['network_id'])]

    def for_rule(rule: SecurityGroupRule, port: Port,
                 remote: frozenset[conntrack.Network] | None,
                 protocol: int | None) -> None:
        version = 4 if rule['ethertype'] == 'IPv4' else 6
        found.append(conntrack.Cut(zone(new, port), version,
                                   _addresses(port, version), remote,
                                   rule['direction'] == 'ingress', protocol))

    kept = {pid: p for pid, p in new.ports.items() if pid in old.ports and
            old.ports[pid].get('security_groups') == p.get('security_groups')}
    for sg in old.groups() & new.groups():
        users = [p for p in kept.values() if sg in p['security_groups']]
        for rule in old.rules.get(sg, []):
            if rule in new.rules.get(sg, []):
                continue
            proto = R.protocol_number(rule.get('protocol'), rule['ethertype'])
            for port in users:
                for_rule(rule, port, _rule_remote(old, rule), proto)
        for rule in new.rules.get(sg, []):
            group = rule.get('remote_group_id')
            if group is None:
                continue
            left = (_members(old, group, rule['ethertype'])
                    - _members(new, group, rule['ethertype']))
            for port in users if left else []:
                for_rule(rule, port, conntrack.networks(left), None)
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
    prefix = rule.get('remote_ip_prefix')
    return None if prefix is None else conntrack.networks([prefix])
