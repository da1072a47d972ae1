"""A network's bridge and its uplink, and a tap on it: the kernel side of
wiring a port, as Neutron's linuxbridge agent lays it out.

Per network one bridge (kaon.naming.bridge: `brq` + the network id's
first 11 characters) with the network's MTU, and one uplink enslaved to
it: for vxlan a `vxlan-<vni>` device over this host's underlay address
(kaon.agent.linux.vxlan), for flat the mapped physical interface, for
vlan its `<interface>.<vlan id>` sub-interface, for local none.  Every
step is idempotent, so a restarted agent adopts what it finds.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

from kaon import naming
from kaon.agent.linux import ip_lib, vxlan
from kaon.wire_l2 import DeviceDetails

LOG = logging.getLogger(__name__)
VXLAN, VLAN, FLAT, LOCAL = 'vxlan', 'vlan', 'flat', 'local'


class WiringError(Exception):
    """This host cannot wire the network (no local_ip for vxlan, no
    interface mapped for the physical network, unknown type)."""


@dataclasses.dataclass(frozen=True)
class Segment:
    """What wiring a network takes, from the server's device details."""
    network_id: str
    network_type: str
    segmentation_id: int | None
    physical_network: str | None
    mtu: int

    @classmethod
    def of(cls, details: DeviceDetails) -> Segment:
        return cls(details['network_id'],
                   details.get('network_type') or LOCAL,
                   details.get('segmentation_id'),
                   details.get('physical_network'),
                   int(details.get('mtu') or 0))


class Wiring:
    """Bridges, uplinks and taps of this host."""

    def __init__(self, conf: Any) -> None:
        self.bridge_prefix: str = conf.bridge_prefix
        self.mappings: dict[str, str] = dict(
            conf.linux_bridge.physical_interface_mappings)
        self.vxlan = conf.vxlan
        self.local_ip: str | None = (
            str(conf.vxlan.local_ip) if conf.vxlan.enable_vxlan
            and conf.vxlan.local_ip else None)

    def bridge(self, network_id: str) -> str:
        return naming.bridge(self.bridge_prefix, network_id)

    def vxlan_device(self, segment: Segment) -> str | None:
        """The network's VXLAN device name, if it is a VXLAN network."""
        if segment.network_type != VXLAN or segment.segmentation_id is None:
            return None
        return vxlan.device_name(segment.segmentation_id)

    def wire(self, tap: str, segment: Segment, admin_up: bool = True
             ) -> None:
        """The network's bridge and uplink, and `tap` on that bridge (moved
        there from any other) with the network's MTU, up unless the port
        is administratively down.

        :raises WiringError: this host cannot carry the network.
        :raises OSError, NetlinkError: the kernel refused."""
        bridge = self.bridge(segment.network_id)
        uplink = self._uplink(segment)
        ip_lib.ensure_bridge(bridge)
        mtu = segment.mtu or None
        ip_lib.set_link(bridge, mtu=mtu)
        if uplink is not None:
            ip_lib.set_link(uplink, mtu=mtu, master=bridge)
        ip_lib.set_link(tap, mtu=mtu, master=bridge, up=admin_up)

    def _uplink(self, segment: Segment) -> str | None:
        kind, physnet = segment.network_type, segment.physical_network
        if kind == LOCAL:
            return None
        if kind == VXLAN:
            return self._ensure_vxlan(segment)
        if kind not in (FLAT, VLAN):
            raise WiringError(f'network type {kind!r} is not supported')
        interface = self.mappings.get(physnet or '')
        if interface is None:
            raise WiringError(
                f'physical network {physnet!r} has no interface here '
                '([linux_bridge] physical_interface_mappings)')
        if kind == FLAT:
            return interface
        if segment.segmentation_id is None:
            raise WiringError('a vlan network without a VLAN id')
        return ip_lib.ensure_vlan(interface, segment.segmentation_id)

    def _ensure_vxlan(self, segment: Segment) -> str:
        name = self.vxlan_device(segment)
        if name is None or segment.segmentation_id is None:
            raise WiringError('a vxlan network without a VNI')
        if self.local_ip is None:
            raise WiringError('vxlan network, but no [vxlan] local_ip '
                              '(or enable_vxlan = false) on this host')
        spec = vxlan.VxlanSpec(
            vni=segment.segmentation_id, local_ip=self.local_ip,
            dstport=self.vxlan.udp_dstport,
            learning=not self.vxlan.l2_population,
            proxy=self.vxlan.arp_responder, ttl=self.vxlan.ttl,
            tos=self.vxlan.tos)
        if vxlan.ensure(name, spec):
            LOG.info('made %s (VNI %d, local %s, port %d)', name,
                     spec.vni, spec.local_ip, spec.dstport)
        return name

    def remove_network(self, network_id: str, force: bool = False) -> bool:
        """Delete the network's bridge and the devices made for it (VXLAN
        device, VLAN sub-interface; a physical interface is only let go),
        unless a tap is still on it -- or even then with `force`
        (network_delete: the taps are let go).  True if it is gone."""
        bridge = self.bridge(network_id)
        links = ip_lib.links()
        if bridge not in links:
            return True
        ports = [link for link in links.values()
                 if link.master == links[bridge].index]
        if not force and any(p.name.startswith(naming.TAP_PREFIX)
                             for p in ports):
            return False
        for port in ports:
            if port.kind in ('vxlan', 'vlan'):
                ip_lib.delete_device(port.name)
        ip_lib.delete_device(bridge)
        LOG.info('removed %s and its uplink', bridge)
        return True
