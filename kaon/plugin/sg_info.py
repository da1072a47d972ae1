"""What a firewall needs to filter some ports: Neutron's
security_group_info_for_ports (SecurityGroupInfoAPIMixin and
SecurityGroupServerRpcMixin), in three queries.

- devices: the ports asked for (by id, or by the id's prefix an
  interface name carries), network infrastructure's own ports left out;
  each the API's port dict with `device`, its addresses as plain strings
  in `fixed_ips`, and `security_group_rules` holding only the provider
  rules (DHCP replies and router advertisements that must reach it).
- security_groups: every group of those ports, each with its rules, as
  Neutron sends them: only keys whose value is not None, the remote
  prefix as `source_ip_prefix` (ingress) or `dest_ip_prefix` (egress) in
  its normalized form, and the group's `stateful` flag.
- sg_member_ips: for every group a rule names as remote group, per
  ethertype those rules use, its members' addresses as [ip, mac] pairs:
  [ip, None] for fixed IPs (Neutron does not read the ports table for
  them), [ip, mac] for allowed address pairs.
"""
from __future__ import annotations

import ipaddress
from typing import Any, cast

from sqlalchemy import null, or_, select, union_all
from sqlalchemy.engine import Connection

from kaon.db.models import (
    allowed_address_pairs as address_pairs,
    ip_allocations,
    ports,
    security_group_port_bindings as bindings,
    security_group_rules as rules,
    security_groups,
)
from kaon.plugin import (
    common,
    port_security,
    ports as port_rows,
    sg_rule_checks,
)
from kaon.wire import (
    MemberPair,
    SecurityGroupInfo,
    SecurityGroupMembers,
    SecurityGroupPort,
    SecurityGroupRule,
)

# neutron_lib.constants.INTERFACE_PREFIXES: the names a device may carry.
INTERFACE_PREFIXES = ('tap', 'qvo', 'qvb', 'qr-', 'qg-', 'sg-', 'fp-',
                      'rfp-', 'fg-')
# DHCP server port, client port per IP version.
_DHCP = {4: (67, 68, 'IPv4'), 6: (547, 546, 'IPv6')}
_ICMPV6_RA = 134


def _port_id(device: str) -> str:
    for prefix in INTERFACE_PREFIXES:
        if device.startswith(prefix):
            return device[len(prefix):]
    return device


def _devices(conn: Connection, devices: list[str]
             ) -> dict[str, SecurityGroupPort]:
    wanted = {_port_id(d): d for d in devices}
    found = conn.execute(select(ports).where(or_(
        ports.c.id.in_([i for i in wanted if len(i) == 36]),
        *[ports.c.id.startswith(i) for i in wanted if len(i) < 36]))).all()
    result: dict[str, SecurityGroupPort] = {}
    for api_port in port_rows.to_dicts(conn, list(found)):
        if port_security.trusted(api_port):
            continue
        asked = next(i for i in wanted if api_port['id'].startswith(i))
        addresses = [ip['ip_address'] for ip in api_port['fixed_ips']]
        # The API's port dict (kaon.wire.Port's keys), its addresses
        # flattened: the cast only names what to_dicts built.
        port = cast(SecurityGroupPort, {
            **api_port, 'device': wanted[asked], 'fixed_ips': addresses,
            'security_group_rules': _provider_rules(addresses),
            'security_group_source_groups': [],
            'security_group_remote_address_groups': []})
        result[port['id']] = port
    return result


def _provider_rules(addresses: list[str]) -> list[SecurityGroupRule]:
    """Neutron's _apply_provider_rule: a router advertisement for a port
    with IPv6, and DHCP replies to the port's own addresses."""
    versions = {a: ipaddress.ip_address(a).version for a in addresses}
    result: list[SecurityGroupRule] = []
    if 6 in versions.values():
        result.append({'direction': 'ingress', 'ethertype': 'IPv6',
                       'protocol': 'ipv6-icmp',
                       'source_port_range_min': _ICMPV6_RA})
    for version, extra in ((4, '255.255.255.255/32'), (6, 'fe80::/64')):
        bits = 32 if version == 4 else 128
        dests = [f'{a}/{bits}' for a, v in versions.items() if v == version]
        server, client, ethertype = _DHCP[version]
        result += [SecurityGroupRule(
            direction='ingress', ethertype=ethertype, protocol='udp',
            port_range_min=client, port_range_max=client,
            source_port_range_min=server, source_port_range_max=server,
            dest_ip_prefix=dest) for dest in dests + [extra]]
    return result


def _wire_rule(row: Any, stateful: bool) -> SecurityGroupRule:
    rule = SecurityGroupRule(direction=row.direction,
                             ethertype=row.ethertype, stateful=stateful)
    if row.protocol is not None:
        rule['protocol'] = str(row.protocol)
    if row.port_range_min is not None:
        rule['port_range_min'] = int(row.port_range_min)
    if row.port_range_max is not None:
        rule['port_range_max'] = int(row.port_range_max)
    if row.remote_group_id is not None:
        rule['remote_group_id'] = str(row.remote_group_id)
    prefix = sg_rule_checks.normalized_cidr(row.remote_ip_prefix)
    if prefix is not None:
        if row.direction == 'ingress':
            rule['source_ip_prefix'] = prefix
        else:
            rule['dest_ip_prefix'] = prefix
    return rule


def _member_rows(conn: Connection, group_ids: list[str]
                 ) -> list[tuple[str, str, str | None]]:
    """(group, ip, mac) of every member address of the groups: each fixed
    IP as (ip, None), each allowed address pair (an address or a CIDR) as
    (ip, mac), as Neutron's _select_ips_for_remote_group."""
    member = bindings.c.security_group_id.in_(group_ids)
    fixed = select(bindings.c.security_group_id, ip_allocations.c.ip_address,
                   null()).join(
        ip_allocations, ip_allocations.c.port_id == bindings.c.port_id
    ).where(member)
    pairs = select(bindings.c.security_group_id, address_pairs.c.ip_address,
                   address_pairs.c.mac_address).join(
        address_pairs, address_pairs.c.port_id == bindings.c.port_id
    ).where(member)
    return [(g, ip, mac) for g, ip, mac in conn.execute(union_all(
        fixed, pairs))]


def _members(conn: Connection, wanted: dict[str, set[str]]
             ) -> dict[str, SecurityGroupMembers]:
    """The addresses of each remote group, for the ethertypes asked."""
    members: dict[str, dict[str, set[tuple[str, str | None]]]] = {
        gid: {eth: set() for eth in eths} for gid, eths in wanted.items()}
    for gid, ip, mac in _member_rows(conn, list(wanted)):
        eth = f'IPv{ipaddress.ip_interface(ip).version}'
        if eth in members[gid]:
            members[gid][eth].add((ip, mac))
    return {gid: _by_ethertype(eths) for gid, eths in members.items()}


def _by_ethertype(found: dict[str, set[tuple[str, str | None]]]
                  ) -> SecurityGroupMembers:
    def pairs(eth: str) -> list[MemberPair]:
        return [[ip, mac] for ip, mac in sorted(found[eth], key=str)]
    result = SecurityGroupMembers()
    if 'IPv4' in found:
        result['IPv4'] = pairs('IPv4')
    if 'IPv6' in found:
        result['IPv6'] = pairs('IPv6')
    return result


def info_for_ports(conn: Connection, devices: list[str]
                   ) -> SecurityGroupInfo:
    ports_by_id = _devices(conn, devices)
    group_ids = sorted({g for p in ports_by_id.values()
                        for g in p['security_groups']})
    stateful = {row.id: bool(row.stateful) for row in conn.execute(select(
        security_groups.c.id, security_groups.c.stateful).where(
        security_groups.c.id.in_(group_ids)))}
    by_group = common.rows_by(conn, rules, 'security_group_id', group_ids,
                              rules.c.created_at, rules.c.id)
    result: dict[str, list[SecurityGroupRule]] = {}
    remote: dict[str, set[str]] = {}
    for gid in group_ids:
        result[gid] = []
        for row in by_group[gid]:
            rule = _wire_rule(row, stateful[gid])
            if rule not in result[gid]:
                result[gid].append(rule)
            if row.remote_group_id:
                remote.setdefault(row.remote_group_id, set()).add(
                    row.ethertype)
    for port in ports_by_id.values():
        port['security_group_source_groups'] = sorted(
            {r.remote_group_id for g in port['security_groups']
             for r in by_group[g] if r.remote_group_id})
    return {'devices': ports_by_id, 'security_groups': result,
            'sg_member_ips': _members(conn, remote)}
