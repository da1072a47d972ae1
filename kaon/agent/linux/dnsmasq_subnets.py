"""Which of a network's subnets its dnsmasq serves, and why not the others.

A subnet dnsmasq cannot serve must cost that subnet alone: it is left out
of the network's dnsmasq (no --dhcp-range, no options, no host entries, no
address on the DHCP port), and the network's other subnets keep being
served.  The API refuses such subnets; the agent does not trust that it
always did (older rows, another server, a future path), and a subnet whose
values could not be written safely (see dnsmasq_values) is refused here
too.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from kaon.agent.linux import dnsmasq_values as values
from kaon.constants import IPV6_MIN_MTU
from kaon.wire import NetworkInfo, Subnet

_V6_MODES = (None, 'slaac', 'dhcpv6-stateful', 'dhcpv6-stateless')


@dataclasses.dataclass(frozen=True)
class Plan:
    served: dict[str, Subnet]    # DHCP subnets dnsmasq serves, by id
    unserved: dict[str, str]     # DHCP subnets left out: id -> reason
    dropped: dict[str, list[str]]  # served subnet -> options left out, why
    onlink: tuple[str, ...]      # well-formed IPv4 CIDRs of every subnet
    mtu: int | None              # the network's MTU, if one can be sent
    mtu_refused: str | None      # why the network's MTU is not sent

    def notes(self) -> list[str]:
        """What is not served and why, one line each (for the log)."""
        notes = [f'subnet {s} is not served by DHCP (its other subnets '
                 f'are): {reason}' for s, reason in self.unserved.items()]
        notes += [f'subnet {s}: option left out: {problem}'
                  for s, problems in self.dropped.items()
                  for problem in problems]
        if self.mtu_refused:
            notes.append(f'no MTU option sent: {self.mtu_refused}')
        return notes


def plan(network: NetworkInfo) -> Plan:
    """Served subnets come as copies holding only the options that can be
    written: a bad DNS server, route or gateway costs that option (logged),
    not the subnet."""
    mtu, mtu_refused = _mtu(network.get('mtu'))
    served: dict[str, Subnet] = {}
    unserved: dict[str, str] = {}
    dropped: dict[str, list[str]] = {}
    onlink: list[str] = []
    for subnet in network.get('subnets', ()):
        if subnet.get('ip_version') == 4 and _well_formed_cidr(subnet):
            onlink.append(subnet['cidr'])
        if not subnet.get('enable_dhcp', True):
            continue
        reason = refusal(subnet, mtu)
        if reason is not None:
            unserved[str(subnet.get('id'))] = reason
            continue
        served[subnet['id']], problems = _options(subnet)
        if problems:
            dropped[subnet['id']] = problems
    return Plan(served, unserved, dropped, tuple(onlink), mtu, mtu_refused)


def _options(subnet: Subnet) -> tuple[Subnet, list[str]]:
    """The subnet with its gateway, DNS servers and host routes that are
    canonical addresses of its IP version; and what was left out.  A bad
    gateway becomes none (an empty router option: never dnsmasq itself)."""
    version, problems = subnet['ip_version'], list[str]()

    def keep(check: Any, *args: Any) -> bool:
        try:
            check(*args)
        except values.Refused as err:
            problems.append(str(err))
            return False
        return True

    gateway = subnet.get('gateway_ip')
    if gateway is not None and not keep(values.ip, gateway, version):
        gateway = None
    servers = [s for s in subnet.get('dns_nameservers') or ()
               if keep(values.ip, s, version)]
    routes = [r for r in subnet.get('host_routes') or ()
              if isinstance(r, dict) and
              keep(values.cidr, r.get('destination'), version) and
              keep(values.ip, r.get('nexthop'), version)]
    return {**subnet, 'gateway_ip': gateway, 'dns_nameservers': servers,
            'host_routes': routes}, problems


def _mtu(value: Any) -> tuple[int | None, str | None]:
    if not value:
        return None, None
    try:
        return values.number(value, 68, 65535, 'MTU'), None
    except values.Refused as err:
        return None, str(err)


def _well_formed_cidr(subnet: Subnet) -> bool:
    try:
        values.cidr(subnet.get('cidr'), subnet.get('ip_version'))
    except values.Refused:
        return False
    return True


def refusal(subnet: Subnet, mtu: int | None) -> str | None:
    """Why dnsmasq cannot serve this DHCP subnet; None if it can."""
    try:
        _check(subnet)
    except values.Refused as err:
        return str(err)
    net = ipaddress.ip_network(subnet['cidr'])
    if net.num_addresses == 1:
        return f'{net} has no address to allocate'
    if subnet.get('allocation_pools') == []:
        return 'no allocation pools: no address to allocate'
    if subnet['ip_version'] == 6 and mtu is not None and mtu < IPV6_MIN_MTU:
        return (f'IPv6 needs an MTU of at least {IPV6_MIN_MTU}; the network '
                f'has {mtu}')
    return None


def _check(subnet: Subnet) -> None:
    """The values the subnet cannot be served without, canonical and of
    the subnet's IP version."""
    values.uuid(subnet.get('id'), 'subnet id')
    version = subnet.get('ip_version')
    if version not in (4, 6):
        raise values.Refused(f'IP version {version!r}')
    net = ipaddress.ip_network(values.cidr(subnet.get('cidr'), version))
    for pool in subnet.get('allocation_pools') or ():
        for end in ('start', 'end'):
            if not isinstance(pool, dict) or ipaddress.ip_address(
                    values.ip(pool.get(end), version)) not in net:
                raise values.Refused(f'allocation pool {pool!r}: outside '
                                     f'{net}')
    if version == 6 and subnet.get('ipv6_address_mode') not in _V6_MODES:
        raise values.Refused('IPv6 address mode '
                             f'{subnet.get("ipv6_address_mode")!r}')
