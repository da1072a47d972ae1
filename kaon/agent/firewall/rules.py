"""Security groups as nftables text: pure functions, no kernel.

The layout (kaon.agent.firewall.nftables says why): a bridge-family table
does what needs the bridge port and no state (anti-spoofing per VM tap, and
marking the packet with the tap's number on the way in and out); an
inet-family table, which br_netfilter runs for bridged IPv4/IPv6, does what
needs conntrack.  Per port there is an egress chain (from the VM) and an
ingress chain (to the VM), both stateful, each jumping to one chain per
security group and direction; a group's rules live once, in its chains,
however many ports use it, so a rule change rewrites two chains.  A remote
group is a named set of addresses per ethertype.

Semantics are Neutron's iptables firewall driver's
(neutron/agent/linux/iptables_firewall.py), protocol facts in comments.
"""
from __future__ import annotations

import functools
import ipaddress
from typing import Iterable

from kaon.wire import (
    AddressPair,
    Port,
    SecurityGroupMembers,
    SecurityGroupRule,
)

TABLE = 'kaon_fw'
MARK_IN = 0x0000ffff        # the tap the packet came from (VM egress)
MARK_OUT = 0xffff0000       # the tap the packet goes to (VM ingress)
MAX_PORT_NUMBER = 0xffff

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
# ICMPv6 a port always receives (neutron_lib ICMPV6_ALLOWED_INGRESS_TYPES:
# MLD query, router advertisement, neighbour solicitation/advertisement).
ICMPV6_INGRESS = (130, 134, 135, 136)
# ICMPv6 a port may send from :: before it owns an address (MLD report,
# neighbour solicitation for DAD, MLDv2 report:
# ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES).
ICMPV6_UNSPEC = (131, 135, 143)
ICMPV6_RA = 134


class RuleError(ValueError):
    """A rule that cannot be expressed (the server should have refused)."""


# -- names ---------------------------------------------------------------
def port_chain(direction: str, port_id: str) -> str:
    """The port's inet chain: 'o-' egress (from the VM), 'i-' ingress."""
    return ('o-' if direction == 'egress' else 'i-') + port_id


def spoof_chain(port_id: str) -> str:
    """The port's bridge chain: anti-spoofing, then the source mark."""
    return 's-' + port_id


def dest_chain(port_id: str) -> str:
    """The port's bridge chain setting the destination mark."""
    return 'd-' + port_id


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
    prefix = rule.get('remote_ip_prefix')
    if prefix is None:
        return []
    net = ipaddress.ip_network(prefix, strict=False)
    if (net.version == 4) != (family == 'ip'):
        raise RuleError(f'{prefix} is not {rule["ethertype"]}')
    return [] if net.prefixlen == 0 else [f'{family} {side} {net}']


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
    [ip, mac]; the firewall needs the ip)."""
    pairs = (members.get('IPv4', []) if ethertype == 'IPv4'
             else members.get('IPv6', []))
    return [pair[0] for pair in pairs]


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


# -- a port's chains ------------------------------------------------------
def address_pairs(port: Port) -> list[tuple[str, str]]:
    """(mac, address or CIDR) the port may send from: its fixed IPs, its
    allowed address pairs (their MAC defaulting to the port's) and the
    IPv6 link-local address of each of those MACs (Neutron adds it)."""
    mac = port['mac_address'].lower()
    pairs = [(mac, ip['ip_address']) for ip in port['fixed_ips']]
    extra: list[AddressPair] = port.get('allowed_address_pairs') or []
    pairs += [(p.get('mac_address', mac).lower(), p['ip_address'])
              for p in extra]
    for each in sorted({m for m, _ in pairs} | {mac}):
        pairs.append((each, str(link_local(each))))
    return pairs


def link_local(mac: str) -> ipaddress.IPv6Address:
    """fe80::/64 with the modified EUI-64 of `mac` (RFC 4291 2.5.1)."""
    octets = [int(b, 16) for b in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui))


def _pair_set(pairs: Iterable[tuple[str, str]], version: int) -> str | None:
    """An anonymous set of `mac . address` (intervals for CIDRs; a MAC's
    overlapping addresses merged, as an interval set requires)."""
    by_mac: dict[str, list[str]] = {}
    for mac, addr in pairs:
        by_mac.setdefault(mac, []).append(addr)
    chosen = [f'{mac} . {elem}' for mac, addrs in sorted(by_mac.items())
              for elem in set_elements(addrs, version)]
    return '{ ' + ', '.join(chosen) + ' }' if chosen else None


def spoof_rules(port: Port, number: int) -> list[str]:
    """The bridge chain of a port's frames from the VM: mark them with
    the port's number, then drop what the port may not send."""
    pairs = address_pairs(port)
    macs = sorted({m for m, _ in pairs})
    v4, v6 = _pair_set(pairs, 4), _pair_set(pairs, 6)
    # ARP: the sender must be one of the port's (mac, IPv4) pairs; an
    # ARP probe (sender 0.0.0.0, RFC 5227) from the port's MACs passes.
    arp = _pair_set(pairs + [(m, '0.0.0.0') for m in macs], 4)
    return [
        f'meta mark set {number:#010x}',
        'ether saddr != { ' + ', '.join(macs) + ' } drop',
        # 802.1Q inside a VM's frames would hide its IP from the rules.
        'ether type { 8021q, 8021ad } drop',
        f'arp saddr ether . arp saddr ip != {arp} drop',
        # DHCP discovery, before the client owns an address.
        'ip saddr 0.0.0.0 ip daddr 255.255.255.255 '
        'udp sport 68 udp dport 67 accept',
        f'ether saddr . ip saddr != {v4} drop' if v4
        else 'ether type ip drop',
        # A VM never answers DHCP (Neutron's DHCP-spoofing rule).
        'udp sport 67 udp dport 68 drop',
        # From :: : MLD reports, DAD's neighbour solicitation, DHCPv6.
        'ip6 saddr :: icmpv6 type { '
        + ', '.join(map(str, ICMPV6_UNSPEC)) + ' } accept',
        'ip6 saddr :: udp sport 546 udp dport 547 accept',
        f'ether saddr . ip6 saddr != {v6} drop' if v6
        else 'ether type ip6 drop',
        # Nor acts as a router or a DHCPv6 server.
        f'icmpv6 type {ICMPV6_RA} drop',
        'udp sport 547 udp dport 546 drop',
    ]


def dest_rules(number: int) -> list[str]:
    """The bridge chain of frames to the port: its number, high half."""
    return [f'meta mark set meta mark & {MARK_IN:#010x} | '
            f'{number << 16:#010x}']


def port_rules(direction: str, groups: Iterable[str]) -> list[str]:
    """A port's stateful chain for one direction: what always passes,
    then its groups' chains; what no group accepts is dropped."""
    rules = ['ct state established,related accept']
    if direction == 'egress':
        rules += ['udp sport 68 udp dport 67 accept',      # DHCP client
                  'udp sport 546 udp dport 547 accept',    # DHCPv6 client
                  # Every ICMPv6 out (RAs were dropped on the bridge).
                  'meta l4proto ipv6-icmp accept']
    else:
        rules += ['udp sport 67 udp dport 68 accept',      # DHCP replies
                  'udp sport 547 udp dport 546 accept',    # DHCPv6 replies
                  'icmpv6 type { ' + ', '.join(map(str, ICMPV6_INGRESS))
                  + ' } accept']
    # After ND: conntrack leaves neighbour discovery untracked-invalid.
    rules.append('ct state invalid drop')
    rules += [f'jump {group_chain(sg, direction)}' for sg in groups]
    return rules + ['drop']
