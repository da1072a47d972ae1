"""The DHCP port of a network on this host, and its plumbing.

Each network served here gets one port of device_owner `network:dhcp`
(created through the server, so IPAM gives it an address on every DHCP
subnet), a namespace `<dhcp_namespace_prefix><network_id>`, and a veth pair:
`ns-<port[:11]>` inside the namespace carries the port's MAC and addresses
(dnsmasq listens there), `tap<port[:11]>` is a port of the network's bridge
`<bridge_prefix><network[:11]>`, the same bridge the VMs of the network are
plugged into (names: kaon.naming).

A network that comes here from another agent (failover, or an admin's
move) usually has that agent's port, reserved (device id
reserved_dhcp_port): it is taken over rather than a new one made, so the
DHCP server keeps the IP and MAC its clients renew against and use as DNS
server (Neutron's DeviceManager.setup_dhcp_port).
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kaon import naming
from kaon.agent.linux import ip_lib, iptables
from kaon.constants import (
    DEVICE_ID_RESERVED_DHCP_PORT,
    DEVICE_OWNER_DHCP,
    dhcp_device_id,
)
from kaon.wire import DhcpServerApi, FixedIpRequest, NetworkInfo, Port

LOG = logging.getLogger(__name__)


def namespace_name(conf: Any, network_id: str) -> str:
    return naming.dhcp_namespace(conf.dhcp_namespace_prefix, network_id)


def bridge_name(conf: Any, network_id: str) -> str:
    return naming.bridge(conf.bridge_prefix, network_id)


def dhcp_subnet_ids(network: NetworkInfo) -> list[str]:
    return [s['id'] for s in network.get('subnets', ())
            if s.get('enable_dhcp', True)]


def with_port(network: NetworkInfo, port: Port) -> NetworkInfo:
    """A copy of `network` whose ports have `port` in place of its old
    version (the dicts others hold stay as they were)."""
    ports = [p for p in network.get('ports', ()) if p['id'] != port['id']]
    return {**network, 'ports': ports + [port]}


class DeviceManager:
    def __init__(self, conf: Any, plugin: DhcpServerApi) -> None:
        self.conf = conf
        self.plugin = plugin

    def get_device_id(self, network: NetworkInfo) -> str:
        return dhcp_device_id(self.conf.host, network['id'])

    def get_dhcp_port(self, network: NetworkInfo) -> Port | None:
        """This agent's DHCP port among the network's ports, if any."""
        return next(iter(self._dhcp_ports(network,
                                          self.get_device_id(network))), None)

    @staticmethod
    def _dhcp_ports(network: NetworkInfo, device_id: str) -> list[Port]:
        return [p for p in network.get('ports', ())
                if p.get('device_owner') == DEVICE_OWNER_DHCP and
                p.get('device_id') == device_id]

    def setup_dhcp_port(self, network: NetworkInfo) -> Port:
        """Find our DHCP port, else take over a reserved one, else create
        one; give it an IP on every DHCP subnet.

        The caller puts the port found or made in place of its old version
        in the network's ports (with_port), so the driver sees the
        addresses dnsmasq serves from (and leaves the port out of the host
        entries).
        """
        wanted = dhcp_subnet_ids(network)
        found = self.get_dhcp_port(network) or self._take_reserved(network)
        if found is None:
            port = self.plugin.create_dhcp_port({'port': {
                'network_id': network['id'],
                'device_id': self.get_device_id(network),
                'fixed_ips': [{'subnet_id': s} for s in wanted],
                'name': '', 'admin_state_up': True,
                'project_id': network.get('project_id', '')}})
        else:
            port = self._add_missing_subnets(network, found, wanted)
        if not port:
            raise RuntimeError(f'No DHCP port for network {network["id"]}')
        return port

    def _take_reserved(self, network: NetworkInfo) -> Port | None:
        """The first reserved port of the network the server lets us take
        over (None from the server: another agent was quicker)."""
        for reserved in self._dhcp_ports(network,
                                         DEVICE_ID_RESERVED_DHCP_PORT):
            port = self.plugin.update_dhcp_port(reserved['id'], {'port': {
                'network_id': network['id'],
                'device_id': self.get_device_id(network)}})
            if port:
                LOG.info('network %s: took over reserved DHCP port %s',
                         network['id'], port['id'])
                return port
        return None

    def _add_missing_subnets(self, network: NetworkInfo, port: Port,
                             wanted: list[str]) -> Port | None:
        """As Neutron: keep the IPs on DHCP subnets, ask for the missing."""
        kept: list[FixedIpRequest] = [
            {'subnet_id': f['subnet_id'], 'ip_address': f['ip_address']}
            for f in port.get('fixed_ips', ()) if f['subnet_id'] in wanted]
        have = {f['subnet_id'] for f in kept}
        missing = [s for s in wanted if s not in have]
        if not missing:
            return port
        LOG.info('DHCP port %s gets addresses on subnets %s', port['id'],
                 missing)
        return self.plugin.update_dhcp_port(port['id'], {'port': {
            'network_id': network['id'],
            'fixed_ips': kept + [{'subnet_id': s} for s in missing]}})

    def port_cidrs(self, network: NetworkInfo, port: Port) -> list[str]:
        """The port's IPs on the DHCP subnets, with the subnets' prefixes."""
        prefixes = {s['id']: ipaddress.ip_network(s['cidr']).prefixlen
                    for s in network.get('subnets', ())
                    if s.get('enable_dhcp', True)}
        return [f"{f['ip_address']}/{prefixes[f['subnet_id']]}"
                for f in port.get('fixed_ips', ())
                if f['subnet_id'] in prefixes]

    def setup(self, network: NetworkInfo) -> tuple[str, Port]:
        """Everything the network's dnsmasq needs below it; returns the
        name of the interface dnsmasq listens on, and the DHCP port."""
        port = self.setup_dhcp_port(network)
        namespace = namespace_name(self.conf, network['id'])
        device = naming.dhcp_device(port['id'])
        plug = (namespace, device, naming.tap(port['id']),
                bridge_name(self.conf, network['id']), port['mac_address'],
                network.get('mtu') or 1500, self.port_cidrs(network, port))
        if ip_lib.veth_in_place(*plug):
            # A restarted agent: all in place (the iptables rule lives and
            # dies with the namespace, which survived).
            return device, port
        ip_lib.ensure_namespace(namespace)
        self._remove_stale_devices(namespace, device)
        ip_lib.plug_veth(*plug)
        iptables.ensure_checksum_fill(namespace)
        return device, port

    def _remove_stale_devices(self, namespace: str, keep: str) -> None:
        """A DHCP port replaced by a new one leaves its ns- device behind;
        two devices with addresses in one subnet would confuse dnsmasq."""
        for name in ip_lib.list_devices(namespace):
            if naming.is_dhcp_device(name) and name != keep:
                LOG.info('Removing stale device %s from %s', name, namespace)
                ip_lib.delete_device(name, namespace)

    def destroy(self, network: NetworkInfo, device_name: str | None
                ) -> None:
        """Unplug and remove the namespace; the bridge goes only when no
        port (a VM's, another agent's) is left on it.

        The tap goes with its veth peer in the namespace, never by name:
        a port taken over by another agent on this same host (a test's
        "network nodes" share one) gets a tap of the same name, which an
        unplug by name after the takeover would cut."""
        namespace = namespace_name(self.conf, network['id'])
        if device_name:
            ip_lib.delete_device(device_name, namespace)
        ip_lib.delete_namespace(namespace)
        ip_lib.delete_bridge_if_unused(bridge_name(self.conf, network['id']))

    def release(self, network: NetworkInfo) -> None:
        """Give the DHCP port back to the server (network no longer here)."""
        self.plugin.release_dhcp_port(network['id'],
                                      self.get_device_id(network))
