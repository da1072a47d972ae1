"""The allowed-address-pairs extension's attribute on ports: its
validator, worded and typed as neutron-lib's
(api/validators/allowedaddresspairs.py), and its limit."""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from kaon import exceptions as exc
from kaon.api import validators as v
from kaon.conf import CONF
from kaon.ipam import addresses

OPTS = [cfg.IntOpt('max_allowed_address_pair', default=10,
                   help='Maximum number of allowed address pairs per port '
                        "(Neutron's option, same name and default).")]
CONF.register_opts(OPTS)

_KEYS = {'ip_address', 'mac_address'}


def _ip_or_cidr(value: Any) -> str:
    """An address, or a CIDR when it has a '/'; unicast, canonical."""
    check = v.cidr if isinstance(value, str) and '/' in value \
        else v.ip_address
    text = check(value)
    network = addresses.parse_cidr(text) if '/' in text else \
        addresses.parse_ip(text)
    if network.is_multicast:
        raise v.Invalid(f"'{text}' is a multicast IP address")
    return text


def _pair(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise v.Invalid(f"'{addresses.shown(value)}' is not a dictionary")
    pair = {}
    if 'mac_address' in value:
        pair['mac_address'] = v.mac_address(value['mac_address'])
    if 'ip_address' not in value:
        raise exc.AllowedAddressPairsMissingIP()
    unknown = sorted(map(str, set(value) - _KEYS))
    if unknown:
        raise v.Invalid('Unrecognized attribute(s) '
                        f"'{addresses.shown(', '.join(unknown))}'")
    pair['ip_address'] = _ip_or_cidr(value['ip_address'])
    return pair


def allowed_address_pairs(value: Any) -> list[dict[str, str]]:
    """A list of {ip_address, mac_address?}; null is the empty list.  A
    pair without a MAC gets the port's (the plugin fills it in); two equal
    pairs, once converted, are DuplicateAddressPairInRequest."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise v.Invalid('Allowed address pairs must be a list.')
    if len(value) > CONF.max_allowed_address_pair:
        raise exc.AllowedAddressPairExhausted(
            quota=CONF.max_allowed_address_pair)
    pairs, seen = [], set()
    for item in value:
        pair = _pair(item)
        key = (pair.get('mac_address'), pair['ip_address'])
        if key in seen:
            raise exc.DuplicateAddressPairInRequest(
                mac_address=key[0], ip_address=key[1])
        seen.add(key)
        pairs.append(pair)
    return pairs
