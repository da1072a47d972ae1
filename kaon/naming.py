"""How kaon names what it creates on a host, for every part that makes,
finds or removes it (the DHCP agent, compute, the CLI's `kaon down`).

Linux interface names hold at most 15 bytes (IFNAMSIZ 16 with the NUL);
like Neutron (LINUX_DEV_LEN 14) kaon uses 14: a three-letter prefix and
the first 11 characters of the port's or network's id.  Namespace names
have no such limit and carry the whole id.
"""
ID_CHARS = 11

TAP_PREFIX = 'tap'          # host end of a port's veth, on the bridge
DHCP_DEVICE_PREFIX = 'ns-'  # the DHCP port's end, in the namespace


def bridge(prefix: str, network_id: str) -> str:
    """The network's bridge (prefix: the bridge_prefix option, 'brq')."""
    return prefix + network_id[:ID_CHARS]


def dhcp_namespace(prefix: str, network_id: str) -> str:
    """The network's DHCP namespace (prefix: dhcp_namespace_prefix,
    'qdhcp-')."""
    return prefix + network_id


def vm_namespace(prefix: str, vm_name: str) -> str:
    """A VM's namespace (prefix: vm_namespace_prefix, 'vm-')."""
    return prefix + vm_name


def tap(port_id: str) -> str:
    """The host end of a port's veth, a port of the network's bridge."""
    return TAP_PREFIX + port_id[:ID_CHARS]


def dhcp_device(port_id: str) -> str:
    """The DHCP port's end of the veth, inside the namespace."""
    return DHCP_DEVICE_PREFIX + port_id[:ID_CHARS]


def tap_of_dhcp_device(device: str) -> str:
    """The tap paired with a DHCP device found in a namespace."""
    return TAP_PREFIX + device[len(DHCP_DEVICE_PREFIX):]


def is_dhcp_device(device: str) -> bool:
    return device.startswith(DHCP_DEVICE_PREFIX)
