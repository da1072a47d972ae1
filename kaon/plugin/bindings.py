"""What a port's binding looks like (Neutron's portbindings extension).

kaon has one way to plug a port: a tap in the network's Linux bridge, as
Neutron's linuxbridge mechanism driver did, with security groups filtered
on it.  So a port is bound as soon as it names a host, and the binding is
derived from binding:host_id rather than stored: with no host it is
`unbound` with empty details (ML2 before any driver binds it), with one it
is linuxbridge's `bridge` and its vif_details.
"""
from __future__ import annotations

from typing import Any

VIF_TYPE_UNBOUND = 'unbound'
VIF_TYPE_BRIDGE = 'bridge'


def _bridge_details() -> dict[str, Any]:
    """LinuxbridgeMechanismDriver's vif_details (port_filter: the firewall
    is enabled; connectivity: layer 2), and the bound_drivers ML2 adds."""
    return {'port_filter': True, 'connectivity': 'l2',
            'bound_drivers': {'0': 'linuxbridge'}}


def attributes(host: str | None) -> dict[str, Any]:
    """binding:vif_type, binding:vif_details and binding:profile of a port
    bound to `host` (fresh dicts: callers may change theirs)."""
    if not host:
        return {'binding:vif_type': VIF_TYPE_UNBOUND,
                'binding:vif_details': {}, 'binding:profile': {}}
    return {'binding:vif_type': VIF_TYPE_BRIDGE,
            'binding:vif_details': _bridge_details(), 'binding:profile': {}}
