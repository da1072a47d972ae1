"""ML2's type drivers' configuration: which segment type a project network
gets ([ml2] tenant_network_types), the ids VXLAN and VLAN segments are
allocated from ([ml2_type_vxlan] vni_ranges, [ml2_type_vlan]
network_vlan_ranges), and the largest MTU each type carries.

Ranges are parsed and checked as neutron-lib's plugin utils do; the server
refuses to start on a bad one (kaon.service.segments), as Neutron's type
drivers end the service ('Failed to parse vni_ranges. Service
terminated!').
"""
from __future__ import annotations

import dataclasses
from typing import Iterator, Mapping

from oslo_config import cfg

from kaon.conf import CONF
from kaon.exceptions import SegmentRangeError

LOCAL, FLAT, VLAN, VXLAN = 'local', 'flat', 'vlan', 'vxlan'
TYPES = (LOCAL, FLAT, VLAN, VXLAN)

# neutron_lib.constants: a VXLAN VNI is 24 bits (0 is not used), a VLAN tag
# 12 bits without 0 and 4095 (IEEE 802.1Q reserves both).
MIN_VNI, MAX_VNI = 1, 2 ** 24 - 1
MIN_VLAN, MAX_VLAN = 1, 4094
# neutron_lib.constants.VXLAN_ENCAP_OVERHEAD: inner Ethernet header 14 +
# UDP 8 + VXLAN 8; the outer IP header (IP_HEADER_LENGTH) comes on top.
VXLAN_ENCAP_OVERHEAD = 30
IP_HEADER_LENGTH = {4: 20, 6: 40}

CONF.register_opts([
    cfg.ListOpt('tenant_network_types', default=[LOCAL],
                help='Network types of project networks, tried in order '
                     'until one has a segment free (local, flat, vlan, '
                     "vxlan); Neutron's default is local."),
    cfg.IntOpt('path_mtu', default=0, min=0,
               help='Largest IP packet the underlay carries between hosts; '
                    'caps the MTU of VXLAN networks (0: global_physnet_mtu '
                    'alone).'),
    cfg.IntOpt('overlay_ip_version', default=4, choices=[4, 6],
               help='IP version of the VXLAN underlay (its header is part '
                    'of the overhead).'),
    cfg.ListOpt('physical_network_mtus', default=[],
                help='physnet:mtu pairs: the MTU of flat and VLAN networks '
                     'on that physical network, if below '
                     'global_physnet_mtu.'),
], group='ml2')
CONF.register_opts([
    cfg.ListOpt('vni_ranges', default=[],
                help="'min:max' ranges of VXLAN VNIs project networks are "
                     'given.'),
], group='ml2_type_vxlan')
CONF.register_opts([
    cfg.ListOpt('network_vlan_ranges', default=[],
                help="'physnet:min:max' ranges of VLAN ids project networks "
                     "are given, or 'physnet' alone: VLAN provider networks "
                     'allowed there, with all of 1..4094 allocatable.'),
], group='ml2_type_vlan')

IdRange = tuple[int, int]
_VNI_OPTION = '[ml2_type_vxlan] vni_ranges'
_VLAN_OPTION = '[ml2_type_vlan] network_vlan_ranges'


@dataclasses.dataclass(frozen=True)
class Ranges:
    """The configured ranges, checked."""
    vni: tuple[IdRange, ...]
    vlan: Mapping[str, tuple[IdRange, ...]]     # physical network -> ranges

    def vnis(self) -> Iterator[int]:
        for low, high in self.vni:
            yield from range(low, high + 1)

    def vlans(self) -> Iterator[tuple[str, int]]:
        for physnet, ranges in self.vlan.items():
            for low, high in ranges:
                yield from ((physnet, v) for v in range(low, high + 1))

    def has_vni(self, vni: int) -> bool:
        return any(low <= vni <= high for low, high in self.vni)

    def has_vlan(self, physnet: str, vlan_id: int) -> bool:
        return any(low <= vlan_id <= high
                   for low, high in self.vlan.get(physnet, ()))


def _bounded(option: str, entry: str, low: int, high: int,
             bounds: IdRange, kind: str) -> IdRange:
    """neutron-lib's verify_tunnel_range / verify_vlan_range."""
    for value in (low, high):
        if not bounds[0] <= value <= bounds[1]:
            raise SegmentRangeError(option, entry,
                                    f'{value} is not a valid {kind}')
    if high < low:
        raise SegmentRangeError(option, entry,
                                f'end of {kind} range is less than its start')
    return low, high


def _pair(option: str, entry: str, text: str, bounds: IdRange,
          kind: str) -> IdRange:
    low, _, high = text.partition(':')
    try:
        return _bounded(option, entry, int(low), int(high), bounds, kind)
    except ValueError:
        raise SegmentRangeError(option, entry,
                                "expected 'min:max' of integers") from None


def _vni_ranges(entries: list[str]) -> tuple[IdRange, ...]:
    return tuple(_pair(_VNI_OPTION, e, e.strip(), (MIN_VNI, MAX_VNI),
                       'VXLAN VNI') for e in entries)


def _vlan_ranges(entries: list[str]) -> dict[str, tuple[IdRange, ...]]:
    """neutron-lib's parse_network_vlan_ranges: 'physnet' alone allows the
    whole 1..4094 there (since neutron-lib 2.10)."""
    found: dict[str, tuple[IdRange, ...]] = {}
    for entry in entries:
        physnet, colon, rest = entry.strip().partition(':')
        if not physnet:
            raise SegmentRangeError(_VLAN_OPTION, entry,
                                    'empty physical network name')
        if not colon:
            found[physnet] = ((MIN_VLAN, MAX_VLAN),)
            continue
        if rest.count(':') != 1:
            raise SegmentRangeError(_VLAN_OPTION, entry,
                                    'need exactly two values for VLAN range')
        pair = _pair(_VLAN_OPTION, entry, rest, (MIN_VLAN, MAX_VLAN),
                     'VLAN tag')
        if found.get(physnet) != ((MIN_VLAN, MAX_VLAN),):
            found[physnet] = (*found.get(physnet, ()), pair)
    return found


def _physnet_mtus(entries: list[str]) -> dict[str, int]:
    option = '[ml2] physical_network_mtus'
    mtus = {}
    for entry in entries:
        physnet, _, mtu = entry.strip().rpartition(':')
        if not physnet or not mtu.isdigit():
            raise SegmentRangeError(option, entry, "expected 'physnet:mtu'")
        mtus[physnet] = int(mtu)
    return mtus


def ranges() -> Ranges:
    """The configured ranges; SegmentRangeError names a bad one."""
    return Ranges(_vni_ranges(list(CONF.ml2_type_vxlan.vni_ranges)),
                  _vlan_ranges(list(CONF.ml2_type_vlan.network_vlan_ranges)))


def tenant_network_types() -> list[str]:
    types = [str(t).strip() for t in CONF.ml2.tenant_network_types]
    for network_type in types:
        if network_type not in TYPES:
            raise SegmentRangeError(
                '[ml2] tenant_network_types', network_type,
                f'no type driver for it (kaon has {", ".join(TYPES)})')
    return types


def check() -> Ranges:
    """Every segment option, as the server checks them before it serves."""
    tenant_network_types()
    _physnet_mtus(list(CONF.ml2.physical_network_mtus))
    return ranges()


def max_mtu(network_type: str, physical_network: str | None) -> int:
    """The largest MTU a network of the segment carries: Neutron's type
    drivers' get_mtu (ML2's _get_network_mtu uses global_physnet_mtu for
    `local`, whose driver names none)."""
    mtu = int(CONF.global_physnet_mtu)
    if network_type == VXLAN:
        # type_tunnel: min(global_physnet_mtu, path_mtu) - the outer IP
        # header; type_vxlan: minus the VXLAN encapsulation.
        if CONF.ml2.path_mtu:
            mtu = min(mtu, int(CONF.ml2.path_mtu))
        return mtu - IP_HEADER_LENGTH[CONF.ml2.overlay_ip_version] - \
            VXLAN_ENCAP_OVERHEAD
    if network_type in (FLAT, VLAN) and physical_network:
        physnet_mtu = _physnet_mtus(list(CONF.ml2.physical_network_mtus))
        return min(mtu, physnet_mtu.get(physical_network, mtu))
    return mtu
