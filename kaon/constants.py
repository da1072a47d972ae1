"""Facts shared by the server, the agents, compute and the CLI, defined once.

Values are Neutron's (neutron_lib.constants) where Neutron has them: they
travel over the API and RPC, and Neutron's agents and clients compare them.
"""
import uuid

# RFC 8200 section 5: every link that carries IPv6 has an MTU of at least
# 1280; Linux turns IPv6 off on an interface below it.
IPV6_MIN_MTU = 1280

# Port device owners.  A compute port's owner is 'compute:<zone>'.
# Network infrastructure's own ports (Neutron's DEVICE_OWNER_NETWORK_PREFIX):
# trusted by port security, not reported ready by DHCP agents.
DEVICE_OWNER_NETWORK_PREFIX = 'network:'
DEVICE_OWNER_DHCP = DEVICE_OWNER_NETWORK_PREFIX + 'dhcp'
DEVICE_OWNER_COMPUTE_PREFIX = 'compute:'
DEVICE_OWNER_COMPUTE = DEVICE_OWNER_COMPUTE_PREFIX + 'nova'
# The device_id of a DHCP port made ahead of any agent (by an admin): the
# first agent on the network takes it over, and its creation schedules
# nothing.
DEVICE_ID_RESERVED_DHCP_PORT = 'reserved_dhcp_port'

# Agent types, as agents report them and `openstack network agent list
# --agent-type` filters them.
AGENT_TYPE_DHCP = 'DHCP agent'
AGENT_TYPE_L3 = 'L3 agent'
AGENT_TYPE_LINUXBRIDGE = 'Linux bridge agent'
AGENT_TYPE_OVS = 'Open vSwitch agent'
AGENT_TYPE_METADATA = 'Metadata agent'


def dhcp_device_id(host: str, network_id: str) -> str:
    """The device_id of a DHCP agent's port: Neutron's
    get_dhcp_agent_device_id, stable per (host, network) so a restarted
    agent finds its own port again.  Like Neutron, only the short host
    name counts.  The server checks it too (an agent may only touch its
    own DHCP port)."""
    local = host.split('.')[0]
    return f'dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, local)}-{network_id}'
