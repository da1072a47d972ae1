"""Neutron's payload shapes from kaon's API dicts: every key Neutron's
server puts into a network, subnet or port it sends a DHCP agent.

Neutron's DHCP agent wraps what it receives in attribute objects
(neutron.agent.linux.dhcp.DictModel) and reads attributes the API of a
smaller server may not have: `subnet.subnetpool_id` when it sets the
namespace's default route, for one, raises AttributeError on a subnet
without it.  So what kaon sends carries the keys of the captured Neutron 29
payloads (shared/rpc-examples), each with the value Neutron sends for a
deployment without that feature.  A key the API dict already has keeps its
value: these only fill gaps.

Left out on purpose: `standard_attr_id` (kaon has no standard-attribute
table; no agent reads it) and the network's `segments` (routed networks
only).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kaon.wire import NetworkRef, Port, Subnet

# A network's attributes from Neutron extensions kaon does not serve, as
# Neutron reports them with the extension loaded and unused.  (Port
# security, provider:*, binding:*, address pairs, security groups, subnet
# pools and service types are the plugin's own attributes now: its dicts
# carry them.)
_NETWORK_DEFAULTS: Mapping[str, Any] = {
    'availability_zone_hints': [],
    'availability_zones': [],
    'ipv4_address_scope': None,
    'ipv6_address_scope': None,
    'qinq': None,
    'vlan_transparent': None,
}


def _filled(item: Mapping[str, Any], defaults: Mapping[str, Any]
            ) -> dict[str, Any]:
    """`item` with every missing default (lists and dicts fresh copies)."""
    out = dict(item)
    for key, value in defaults.items():
        if key not in out:
            out[key] = type(value)() if isinstance(value, (list, dict)) \
                else value
    return out


def network(net: Mapping[str, Any]) -> NetworkRef:
    """A network as Neutron's casts carry it (network_update_end, the
    `network` of subnet and port casts)."""
    return cast(NetworkRef, _filled(net, _NETWORK_DEFAULTS))


def subnet(sub: Mapping[str, Any], net: Mapping[str, Any] | None,
           in_cast: bool = False) -> Subnet:
    """A subnet as get_network_info lists it; `in_cast` as subnet casts
    carry it, which add `segment_id` (Neutron's _make_subnet_dict for RPC
    leaves it out of network info).  `shared` and `router:external` are the
    network's (`net`, when known)."""
    out = dict(sub)
    net = net or {}
    out.setdefault('shared', bool(net.get('shared', False)))
    out.setdefault('router:external', bool(net.get('router:external',
                                                   False)))
    if in_cast:
        out.setdefault('segment_id', None)
    return cast(Subnet, out)


def port(item: Mapping[str, Any]) -> Port:
    """A port as every answer and cast carries it: the plugin's port dict
    already has every key Neutron's carry
    (tests/interop/test_server_payloads.py checks it), so this only types
    a copy."""
    return cast(Port, dict(item))
