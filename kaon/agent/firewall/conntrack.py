"""Cutting the established flows a removed rule or member had allowed.

A stateful firewall accepts every packet of an established flow before it
reads a rule, so removing a rule alone would not stop a flow it had let
in.  Neutron's iptables driver therefore deletes the conntrack entries
between the ports of the group and the rule's remote addresses
(`conntrack -D -f <family> -p <proto> -d <port ip> -s <remote> -w <zone>`,
neutron/agent/linux/ip_conntrack.py), and does the same for the addresses
that left a remote group.  A flow still allowed by another rule is picked
up again as new by its next packet and passes (TCP's loose pickup,
nf_conntrack_tcp_loose, is on by default); one no rule allows is dropped.

Here the same over ctnetlink (kaon.agent.firewall.nfnetlink, in-process,
no conntrack-tools): one dump of the table per change, whatever the
zones and families, matched here, and deleted entry by entry.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Iterable

from kaon.agent.firewall import nfnetlink

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True)
class Cut:
    """Flows to cut in one zone: between `local` (the port's addresses)
    and `remote` (None: any address); `inbound`: the far end opened them
    (an ingress rule), else the port did; `protocol` None: any."""
    zone: int
    version: int
    local: frozenset[str]
    remote: frozenset[Network] | None
    inbound: bool
    protocol: int | None = None

    def matches(self, proto: int, src: str, dst: str) -> bool:
        if self.protocol is not None and proto != self.protocol:
            return False
        near, far = (dst, src) if self.inbound else (src, dst)
        if near not in self.local:
            return False
        if self.remote is None:
            return True
        address = ipaddress.ip_address(far)
        return any(address in net for net in self.remote)


def networks(addresses: Iterable[str]) -> frozenset[Network]:
    return frozenset(ipaddress.ip_network(a, strict=False)
                     for a in addresses)


def cut(nf: nfnetlink.Netfilter, cuts: Iterable[Cut]) -> int:
    """Delete the conntrack entries the cuts describe; how many.

    :raises OSError: ctnetlink refused (no CAP_NET_ADMIN)."""
    by_zone: dict[int, list[Cut]] = {}
    for each in cuts:
        if each.local:
            by_zone.setdefault(each.zone, []).append(each)
    if not by_zone:
        return 0
    deleted = 0
    for flow in nf.flows(set(by_zone)):
        if any(c.matches(flow.proto, flow.src, flow.dst)
               for c in by_zone.get(flow.zone, [])):
            deleted += nf.delete(flow)
    return deleted
