"""Security group rules as nftables text: pure functions, no kernel.

A group's rules live once, in one chain per direction (ingress: to the
VM, egress: from it), however many ports use the group, so a rule change
rewrites two chains; a rule that matches accepts.  A remote group is a
named set of addresses per ethertype.  The ports' side (anti-spoofing, the
per-port chains that jump here): kaon.agent.firewall.ports.

Semantics are Neutron's iptables firewall driver's
(neutron/agent/linux/iptables_firewall.py), protocol facts in comments.
"""
from __future__ import annotations

import functools
import ipaddress
from typing import Iterable

from kaon.wire import SecurityGroupMembers, SecurityGroupRule

# Neutron's protocol names (neutron_lib.constants.IP_PROTOCOL_MAP).
PROTOCOLS = {
    'ah': 51, 'dccp': 33, 'egp': 8, 'esp': 50, 'gre': 47, 'hopopt': 0,
    'icmp': 1, 'igmp': 2, 'ip': 0, 'ipip': 4, 'ipv6-encap': 41,
    'ipv6-frag': 44, 'ipv6-icmp': 58, 'icmpv6': 58, 'ipv6-nonxt': 59,
    'ipv6-opts': 60, 'ipv6-route': 43, 'ospf': 89, 'pgm': 113, 'rsvp': 46,
    'sctp': 132, 'tcp': 6, 'udp': 17, 'udplite': 136, 'vrrp': 112,
}
PORTED = {6, 17, 33, 132, 136}      # protocols whose rules carry ports
ICMP, ICMPV6 = 1, 58

class RuleError(ValueError):
    """A rule that cannot be expressed (the server should have refused)."""


# -- names ---------------------------------------------------------------
def group_chain(sg_id: str, direction: str) -> str:
    return f'sg-{sg_id}-{direction}'


def remote_set(sg_id: str, ethertype: str) -> str:
    return f'rg-{sg_id}-{4 if ethertype == "IPv4" else 6}'


# -- rule translation ----------------------------------------------------
def protocol_number(protocol: str | int | None, ethertype: str) -> int | None:
    """A rule's protocol as a number; None for any.  'icmp' in an IPv6
    rule is ICMPv6, as Neutron's drivers read it."""
    if protocol is None or str(protocol).lower() in ('any', ''):
        return None
    text = str(protocol).lower()
    number = PROTOCOLS.get(text) if not text.isdigit() else int(text)
    if number is None or not 0 <= number <= 255:
        raise RuleError(f'unknown protocol {protocol!r}')
    if number == ICMP and ethertype == 'IPv6':
        return ICMPV6
    return None if number == 0 else number


def _family(ethertype: str) -> str:
    if ethertype not in ('IPv4', 'IPv6'):
        raise RuleError(f'unknown ethertype {ethertype!r}')
    return 'ip' if ethertype == 'IPv4' else 'ip6'


def _remote(rule: SecurityGroupRule) -> list[str]:
    """The match on the far end: the source of ingress, the destination
    of egress."""
    family = _family(rule['ethertype'])
    side = 'saddr' if rule['direction'] == 'ingress' else 'daddr'
    if 'remote_group_id' in rule:
        name = remote_set(rule['remote_group_id'], rule['ethertype'])
        return [f'{family} {side} @{name}']
    prefix = remote_prefix(rule)
    if prefix is None:
        return []
    net = ipaddress.ip_network(prefix, strict=False)
    if (net.version == 4) != (family == 'ip'):
        raise RuleError(f'{prefix} is not {rule["ethertype"]}')
    return [] if net.prefixlen == 0 else [f'{family} {side} {net}']


def remote_prefix(rule: SecurityGroupRule) -> str | None:
    """The rule's remote prefix: Neutron's answer names it by the side
    it matches, source_ip_prefix for ingress, dest_ip_prefix for egress."""
    if rule['direction'] == 'ingress':
        return rule.get('source_ip_prefix')
    return rule.get('dest_ip_prefix')


def _ports(rule: SecurityGroupRule, proto: int) -> list[str]:
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if proto in (ICMP, ICMPV6):
        # port_range_min is the ICMP type, port_range_max its code.
        kind = 'icmp' if proto == ICMP else 'icmpv6'
        match = [] if low is None else [f'{kind} type {low}']
        return match + ([] if high is None or low is None
                        else [f'{kind} code {high}'])
    if proto not in PORTED or (low is None and high is None):
        return []
    low = 1 if low is None else low
    high = low if high is None else high
    return [f'th dport {low}' if low == high else f'th dport {low}-{high}']


def rule_line(rule: SecurityGroupRule) -> str:
    """One security group rule as one nftables rule (in its group's
    chain for its direction).

    :raises RuleError: unknown protocol or ethertype, or a prefix of the
        other IP version.
    """
    return _rule_line(tuple(sorted(rule.items())))


@functools.lru_cache(maxsize=65536)
def _rule_line(items: tuple[tuple[str, object], ...]) -> str:
    # Cached: a full apply writes every group's rules again, and the
    # address parsing is most of a rule's cost.  (The ignore: a dict
    # rebuilt from a rule's own items is that rule.)
    rule: SecurityGroupRule = dict(items)  # type: ignore[assignment]
    nfproto = 'ipv4' if _family(rule['ethertype']) == 'ip' else 'ipv6'
    proto = protocol_number(rule.get('protocol'), rule['ethertype'])
    parts = [f'meta nfproto {nfproto}'] + _remote(rule)
    if proto is not None:
        parts.append(f'meta l4proto {proto}')
        parts += _ports(rule, proto)
    return ' '.join(parts + ['accept'])


def remote_groups(rules: Iterable[SecurityGroupRule]) -> set[tuple[str, str]]:
    """(group, ethertype) of every remote set these rules read."""
    return {(r['remote_group_id'], r['ethertype']) for r in rules
            if 'remote_group_id' in r}


def member_ips(members: SecurityGroupMembers, ethertype: str) -> list[str]:
    """A remote group's addresses of one ethertype (each member is
    [ip, mac or None]; the firewall needs the ip)."""
    pairs = (members.get('IPv4', []) if ethertype == 'IPv4'
             else members.get('IPv6', []))
    return [str(pair[0]) for pair in pairs]


def set_elements(addresses: Iterable[str], version: int) -> list[str]:
    """A remote group's addresses (ips, or CIDRs from address pairs) as
    the non-overlapping elements an interval set accepts."""
    return list(_elements(tuple(addresses), version))


@functools.lru_cache(maxsize=4096)
def _elements(addresses: tuple[str, ...], version: int) -> tuple[str, ...]:
    # Cached: every apply compares the sets of every group in use, and
    # a 200-member group's addresses rarely change between two applies.
    nets = [ipaddress.ip_network(a, strict=False) for a in addresses]
    merged: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
    if version == 4:
        merged = list(ipaddress.collapse_addresses(
            n for n in nets if isinstance(n, ipaddress.IPv4Network)))
    else:
        merged = list(ipaddress.collapse_addresses(
            n for n in nets if isinstance(n, ipaddress.IPv6Network)))
    return tuple(str(n) if n.num_addresses > 1 else str(n.network_address)
                 for n in merged)
