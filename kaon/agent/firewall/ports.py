"""A port's share of the firewall as nftables text: pure, no kernel.

The layout (kaon.agent.firewall.nftables says why the two tables):

- bridge table: taps with port security are in the set `filtered`; their
  frames go through one shared chain, `spoof`, whose rules look the
  (tap, MAC, address) of each frame up in named sets, so a port's
  anti-spoofing is set elements, not rules.  Frames to a filtered tap get
  that port's mark (`dst_marks`), for the inet table's ingress lookup.
- inet table: a packet from a VM is known by (bridge, source MAC), which
  anti-spoofing has vouched for, and jumps to its port's egress chain
  (`vm_out`); one to a VM by its mark (`vm_in`) to the port's ingress
  chain.  A port chain jumps to the shared stateful rules, then to its
  groups' chains (kaon.agent.firewall.rules); what none accepts is
  dropped.

Semantics are Neutron's iptables firewall driver's, protocol facts in
comments.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from kaon import naming
from kaon.agent.firewall.rules import group_chain, set_elements
from kaon.wire import AddressPair, SecurityGroupPort

# dst_marks' values: this prefix and the port's number, so that a mark
# some other part of the host sets is unlikely to pick a port's chain.
MARK_BASE = 0x6b000000
MAX_PORT_NUMBER = 0xffff
# ICMPv6 a port always receives (neutron_lib ICMPV6_ALLOWED_INGRESS_TYPES:
# MLD query, router advertisement, neighbour solicitation/advertisement).
ICMPV6_INGRESS = '130, 134, 135, 136'
# ICMPv6 a port may send from :: before it owns an address (MLD report,
# neighbour solicitation for DAD, MLDv2 report:
# ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES).
ICMPV6_UNSPEC = '131, 135, 143'

_ARP = 'iifname . arp saddr ether . arp saddr ip'
_IP4 = 'iifname . ether saddr . ip saddr'
_IP6 = 'iifname . ether saddr . ip6 saddr'
# The bridge table's sets: name -> (typeof, interval).  An address pair
# may be a CIDR: those go to the *net sets (intervals); exact addresses
# to hash sets, whose updates need no element listing.
BRIDGE_SETS = {
    'filtered': ('iifname', False),
    'macs': ('iifname . ether saddr', False),
    'arp4': (_ARP, False), 'arp4net': (_ARP, True),
    'addr4': (_IP4, False), 'addr4net': (_IP4, True),
    'addr6': (_IP6, False), 'addr6net': (_IP6, True),
}

SPOOF = [
    'iifname . ether saddr != @macs drop',
    # 802.1Q inside a VM's frames would hide its IP from the rules.
    'ether type { 8021q, 8021ad } drop',
    # ARP: the sender must be one of the port's (mac, IPv4) pairs; an
    # ARP probe (sender 0.0.0.0, RFC 5227) from the port's MACs passes.
    f'{_ARP} != @arp4 {_ARP} != @arp4net drop',
    # DHCP discovery, before the client owns an address.
    'ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 '
    'accept',
    f'{_IP4} != @addr4 {_IP4} != @addr4net drop',
    # A VM never answers DHCP (Neutron's DHCP-spoofing rule).
    'udp sport 67 udp dport 68 drop',
    # From :: : MLD reports, DAD's neighbour solicitation, DHCPv6.
    f'ip6 saddr :: icmpv6 type {{ {ICMPV6_UNSPEC} }} accept',
    'ip6 saddr :: udp sport 546 udp dport 547 accept',
    f'{_IP6} != @addr6 {_IP6} != @addr6net drop',
    # Nor acts as a router or a DHCPv6 server.
    'icmpv6 type 134 drop',
    'udp sport 547 udp dport 546 drop',
]

ALWAYS = {
    # Stateful, then what a port always sends and receives; conntrack
    # leaves neighbour discovery untracked-invalid, hence ICMPv6 first.
    'egress': ['ct state established,related accept',
               'udp sport 68 udp dport 67 accept',      # DHCP client
               'udp sport 546 udp dport 547 accept',    # DHCPv6 client
               # Every ICMPv6 out (RAs were dropped on the bridge).
               'meta l4proto ipv6-icmp accept',
               'ct state invalid drop'],
    'ingress': ['ct state established,related accept',
                'udp sport 67 udp dport 68 accept',     # DHCP replies
                'udp sport 547 udp dport 546 accept',   # DHCPv6 replies
                f'icmpv6 type {{ {ICMPV6_INGRESS} }} accept',
                'ct state invalid drop'],
}


def port_chain(direction: str, port_id: str) -> str:
    """The port's inet chain: 'o-' egress (from the VM), 'i-' ingress."""
    return ('o-' if direction == 'egress' else 'i-') + port_id


def always_chain(direction: str, stateful: bool = True) -> str:
    return f'always-{direction}' + ('' if stateful else '-stateless')


def stateless_always(direction: str) -> list[str]:
    """ALWAYS without conntrack's verdicts."""
    return [r for r in ALWAYS[direction] if not r.startswith('ct state')]


def port_rules(direction: str, groups: Iterable[str],
               stateful: bool = True) -> list[str]:
    """A port's chain for one direction; a port whose groups are
    stateless skips the conntrack verdicts (Neutron's stateless groups:
    replies pass only if a rule allows them)."""
    always = always_chain(direction, stateful)
    return ([f'jump {always}']
            + [f'jump {group_chain(sg, direction)}' for sg in groups]
            + ['drop'])


def mark(number: int) -> str:
    return f'{MARK_BASE | number:#010x}'


def address_pairs(port: SecurityGroupPort) -> list[tuple[str, str]]:
    """(mac, address or CIDR) the port may send from: its fixed IPs, its
    allowed address pairs (their MAC defaulting to the port's) and the
    IPv6 link-local address of each of those MACs (Neutron adds it)."""
    mac = port['mac_address'].lower()
    pairs = [(mac, ip) for ip in port['fixed_ips']]
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


# (family, set or map) -> {element key: map value, or None in a set}
Elements = dict[tuple[str, str], dict[str, str | None]]


def elements(port: SecurityGroupPort, number: int, bridge: str) -> Elements:
    """Every set and map element a filtered port owns."""
    pid = port['id']
    tap = f'"{naming.tap(pid)}"'
    pairs = address_pairs(port)
    macs = sorted({m for m, _ in pairs})
    found: Elements = {
        ('bridge', 'filtered'): {tap: None},
        ('bridge', 'macs'): {f'{tap} . {m}': None for m in macs},
        ('bridge', 'dst_marks'): {tap: mark(number)},
        ('inet', 'vm_out'): {f'"{bridge}" . {m}':
                             f'jump {port_chain("egress", pid)}'
                             for m in macs},
        ('inet', 'vm_in'): {mark(number):
                            f'jump {port_chain("ingress", pid)}'},
    }
    arp = pairs + [(m, '0.0.0.0') for m in macs]
    for name, chosen, version in (('arp4', arp, 4), ('addr4', pairs, 4),
                                  ('addr6', pairs, 6)):
        exact, nets = _split(chosen, version)
        found[('bridge', name)] = {f'{tap} . {e}': None for e in exact}
        found[('bridge', name + 'net')] = {f'{tap} . {e}': None
                                           for e in nets}
    return found


def _split(pairs: list[tuple[str, str]], version: int
           ) -> tuple[list[str], list[str]]:
    """`mac . address` elements of one version: exact ones, and CIDRs
    (merged per MAC, as an interval set needs them apart)."""
    exact: list[str] = []
    nets: list[str] = []
    by_mac: dict[str, list[str]] = {}
    for mac, addr in pairs:
        by_mac.setdefault(mac, []).append(addr)
    for mac, addrs in sorted(by_mac.items()):
        for elem in set_elements(addrs, version):
            (nets if '/' in elem else exact).append(f'{mac} . {elem}')
    return exact, nets
