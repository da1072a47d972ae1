"""The security_group_rule resource (security-group extension, with
security-groups-normalized-cidr and security-groups-rules-belongs-to-
default-sg).

The converters raise Neutron's own errors (SecurityGroupRuleInvalidProtocol,
...), as neutron/extensions/securitygroup.py's convert_to functions do:
clients match on those types.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from kaon import exceptions as exc
from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.common import (
    DESCRIPTION,
    ID,
    PROJECT,
    REVISION,
    TIMESTAMP,
)
from kaon.ipam.addresses import shown
from kaon.plugin.sg_rule_checks import ANY, ETHERTYPES, SUPPORTED_PROTOCOLS

_NUMBER = re.compile(r'[0-9]{1,3}')


def protocol(value: Any) -> str | None:
    """A name (case-insensitive), 'any' or a number 0-255; numbers are
    kept as strings (Neutron bug 1381379: PostgreSQL compares them with
    the names in one column)."""
    if value in ANY:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        if _NUMBER.fullmatch(value) and int(value) <= 255:
            return str(int(value))
        if value.lower() in SUPPORTED_PROTOCOLS:
            return value.lower()
    raise exc.SecurityGroupRuleInvalidProtocol(
        protocol=shown(value), values=SUPPORTED_PROTOCOLS)


def port(value: Any) -> int | None:
    """0-65535 as a number or decimal string (oslo's is_valid_port)."""
    if value is None:
        return None
    try:
        number = v.integer(0, 65535)(value)
    except v.Invalid:
        raise exc.SecurityGroupInvalidPortValue(port=shown(value)) \
            from None
    return int(number)


def ethertype(value: Any) -> str:
    if isinstance(value, str):
        for known in ETHERTYPES:
            if known.lower() == value.lower():
                return known
    raise exc.SecurityGroupRuleInvalidEtherType(ethertype=shown(value),
                                                values=ETHERTYPES)


def ip_prefix(value: Any) -> str | None:
    """An address or network, host bits allowed and kept (10.0.0.5/24
    stays so; a bare address gets /32 or /128): Neutron stores the
    prefix as given and shows its network as normalized_cidr."""
    if value is None or value == '':
        return None
    try:
        if not isinstance(value, str) or '\x00' in value:
            raise ValueError(value)
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise exc.InvalidCIDR(input=shown(value)) from None


def rule_attributes() -> dict[str, Attribute]:
    """What a rule and a default rule share."""
    return {
        'id': ID,
        'description': DESCRIPTION,
        'direction': Attribute(allow_post=True,
                               validate=v.enum('ingress', 'egress'),
                               default=REQUIRED, is_sort_key=True),
        'ethertype': Attribute(allow_post=True, validate=ethertype,
                               default='IPv4', is_sort_key=True),
        'protocol': Attribute(allow_post=True, validate=protocol,
                              is_sort_key=True),
        'port_range_min': Attribute(allow_post=True, validate=port,
                                    is_sort_key=True),
        'port_range_max': Attribute(allow_post=True, validate=port,
                                    is_sort_key=True),
        'remote_ip_prefix': Attribute(allow_post=True, validate=ip_prefix,
                                      is_sort_key=True),
        # Not a UUID check: an unknown id, well-formed or not, is 404.
        'remote_group_id': Attribute(allow_post=True,
                                     validate=v.nullable(v.string(255)),
                                     is_sort_key=True),
        # Shown (null) as Neutron shows it with its address-group extension
        # loaded; kaon has no address groups, so it is read-only.
        'remote_address_group_id': Attribute(is_filter=False),
    }


RESOURCE = Resource('security_group_rule', 'security_group_rules', {
    **rule_attributes(),
    'tenant_id': PROJECT, 'project_id': PROJECT,
    'created_at': TIMESTAMP, 'updated_at': TIMESTAMP,
    'revision_number': REVISION,
    'security_group_id': Attribute(allow_post=True, validate=v.string(36),
                                   default=REQUIRED, is_sort_key=True),
    'normalized_cidr': Attribute(is_filter=False),
    'belongs_to_default_sg': Attribute(validate=v.boolean),
})
