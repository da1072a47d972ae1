"""What makes a security group rule valid, canonical and a duplicate.

Pure functions over a rule body (a dict with Neutron's keys), shared by
the rules of groups and the default rules they are copied from; the
names, numbers and checks are Neutron's (neutron_lib.constants,
neutron/common/_constants.py, SecurityGroupDbMixin's validators).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from kaon import exceptions as exc

IP_PROTOCOL_MAP = {
    'ah': 51, 'dccp': 33, 'egp': 8, 'esp': 50, 'gre': 47, 'hopopt': 0,
    'icmp': 1, 'igmp': 2, 'ip': 0, 'ipip': 4, 'ipv6-encap': 41,
    'ipv6-frag': 44, 'ipv6-icmp': 58,
    # The legacy name of IPv6 ICMP, still accepted by the API.
    'icmpv6': 58,
    'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, 'ospf': 89,
    'pgm': 113, 'rsvp': 46, 'sctp': 132, 'tcp': 6, 'udp': 17,
    'udplite': 136, 'vrrp': 112,
}
# One name per number (58 is ipv6-icmp, not icmpv6).
NUM_TO_NAME = {str(num): name for name, num in IP_PROTOCOL_MAP.items()
               if name != 'icmpv6'}
ANY = (None, 'any')
SUPPORTED_PROTOCOLS = ANY + tuple(IP_PROTOCOL_MAP)
ETHERTYPES = ['IPv4', 'IPv6']
PORT_PROTOCOLS = ('dccp', 'sctp', 'tcp', 'udp', 'udplite')
ICMP_NUMBERS = (1, 58)
# Protocols that exist only over IPv6.
_IPV6_ONLY = ('ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt',
              'ipv6-opts', 'ipv6-route', '41', '44', '58', '59', '60', '43')
PARENT = 'PARENT'


def protocol_number(protocol: str | None) -> int | None:
    if protocol in ANY:
        return None
    text = str(protocol)
    return int(text) if text.isdigit() else IP_PROTOCOL_MAP.get(text)


def canonical(rule: dict[str, Any]) -> None:
    """Neutron's rewrites before validation: IPv6 rules say ipv6-icmp
    (or 58) for ICMP, and the whole port range 1-65535 is no range."""
    if rule.get('ethertype') == 'IPv6':
        if rule.get('protocol') in ('icmp', 'icmpv6'):
            rule['protocol'] = 'ipv6-icmp'
        elif rule.get('protocol') == '1':
            rule['protocol'] = '58'
    if rule.get('port_range_min') == 1 and \
            rule.get('port_range_max') == 65535:
        rule['port_range_min'] = rule['port_range_max'] = None


def validate(rule: dict[str, Any]) -> None:
    """Neutron's _validate_base_security_group_rule_attributes (after
    canonical())."""
    _check_port_range(rule)
    _check_prefix(rule)
    if rule.get('protocol') in _IPV6_ONLY and rule['ethertype'] == 'IPv4':
        raise exc.SecurityGroupEthertypeConflictWithProtocol(
            ethertype=rule['ethertype'], protocol=rule['protocol'])
    if rule.get('remote_ip_prefix') and rule.get('remote_group_id'):
        raise exc.SecurityGroupMultipleRemoteEntites()


def _check_port_range(rule: dict[str, Any]) -> None:
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if low is None and high is None:
        return
    if not rule.get('protocol'):
        raise exc.SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(rule['protocol'])
    if number in [IP_PROTOCOL_MAP[p] for p in PORT_PROTOCOLS]:
        if low == 0 or high == 0:
            raise exc.SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise exc.SecurityGroupInvalidPortRange()
    elif number in ICMP_NUMBERS:
        for attr, field, value in (('port_range_min', 'type', low),
                                   ('port_range_max', 'code', high)):
            if value is not None and not 0 <= value <= 255:
                raise exc.SecurityGroupInvalidIcmpValue(
                    field=field, attr=attr, value=value)
        if low is None:
            raise exc.SecurityGroupMissingIcmpType(value=high)
    else:
        raise exc.SecurityGroupInvalidProtocolForPort(
            protocol=number, valid_port_protocols=', '.join(
                p.upper() for p in PORT_PROTOCOLS))


def _check_prefix(rule: dict[str, Any]) -> None:
    prefix = rule.get('remote_ip_prefix')
    if prefix and f"IPv{ipaddress.ip_interface(prefix).version}" != \
            rule['ethertype']:
        raise exc.SecurityGroupRuleParameterConflict(
            ethertype=rule['ethertype'], cidr=prefix)


def normalized_cidr(prefix: str | None) -> str | None:
    """The network of a prefix stored as given (10.0.0.5/24 ->
    10.0.0.0/24): the security-groups-normalized-cidr extension."""
    if not prefix:
        return None
    return str(ipaddress.ip_interface(prefix).network)


def _protocol_key(protocol: Any, ethertype: str | None) -> str:
    """Neutron's _get_ip_proto_name_and_num: a name and its number are
    the same protocol."""
    proto = str(protocol)
    if ethertype == 'IPv6':
        if proto in ('icmp', 'icmpv6'):
            proto = 'ipv6-icmp'
        elif proto == '1':
            proto = '58'
    if proto in IP_PROTOCOL_MAP:
        return str([proto, str(IP_PROTOCOL_MAP[proto])])
    if proto in NUM_TO_NAME:
        return str([NUM_TO_NAME[proto], proto])
    return str([proto, proto])


_KEY_FIELDS = ('direction', 'ethertype', 'port_range_max', 'port_range_min',
               'protocol', 'remote_group_id', 'remote_ip_prefix',
               'security_group_id')


def rule_key(rule: dict[str, Any]) -> tuple[str, ...]:
    """Two rules with one key are duplicates (Neutron's _rule_to_key):
    the any-address prefixes count as no prefix, a protocol's name as its
    number."""
    def value(key: str) -> str:
        val = rule.get(key)
        if key == 'remote_ip_prefix' and val in ('0.0.0.0/0', '::/0'):
            return '+'
        if val is None:
            return '+'
        if key == 'protocol':
            return _protocol_key(val, rule.get('ethertype'))
        return str(val)
    return tuple(value(k) for k in _KEY_FIELDS)
