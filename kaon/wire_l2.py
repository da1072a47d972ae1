"""The wire contract between the server and its L2 agents, typed once.

Neutron's linuxbridge agent and ML2's RPC, as they travel (shared/RPC.md
section 8; neutron/plugins/ml2/rpc.py, neutron/agent/rpc.py,
neutron/plugins/ml2/drivers/l2pop/rpc.py), so kaon's L2 agent and kaon's
server each interoperate with Neutron's other half:

* agent -> server, topic `q-plugin` (RpcCallbacks, target version 1.9):
  `get_devices_details_list_and_failed_devices(devices, agent_id, host)`
  (1.5) -> DevicesDetails; `update_device_list(devices_up, devices_down,
  agent_id, host, refresh_tunnels)` (1.9) -> DeviceListUpdate.  A device
  is the tap's name (kaon.naming.tap: `tap` + the port id's first 11
  characters); the server
  finds the port by that prefix (linuxbridge's get_port_from_device).
* server -> agents, l2population (L2populationAgentNotifyAPI, 1.0):
  `add_fdb_entries` / `remove_fdb_entries(fdb_entries)` fanned out on
  L2POP_TOPIC, or cast to one agent on `L2POP_TOPIC + '.' + host` (the
  full table for an agent whose first port of a network came up, or that
  restarted).
* server -> agents, fanouts: `port_update(port, network_type,
  segmentation_id, physical_network)` on PORT_UPDATE_TOPIC,
  `port_delete(port_id)` on PORT_DELETE_TOPIC, `network_delete(
  network_id)` on NETWORK_DELETE_TOPIC (AgentNotifierApi).
"""
from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict

from kaon.naming import TAP_PREFIX
from kaon.wire import AddressPair, FixedIp

AGENT_NOTIFIER = 'q-agent-notifier'
L2POP_TOPIC = f'{AGENT_NOTIFIER}-l2population-update'
PORT_UPDATE_TOPIC = f'{AGENT_NOTIFIER}-port-update'
PORT_DELETE_TOPIC = f'{AGENT_NOTIFIER}-port-delete'
NETWORK_DELETE_TOPIC = f'{AGENT_NOTIFIER}-network-delete'

# l2population's "flood to this host" entry: broadcast and unknown
# unicast of the network go to every host listed with it.
FLOODING_ENTRY = ['00:00:00:00:00:00', '0.0.0.0']

# What the agent reports as its `configurations` (report_state).
TUNNELING_IP = 'tunneling_ip'


class DeviceDetails(TypedDict, total=False):
    """ML2's get_device_details for one bound device; an unknown device,
    or one bound to another host, is only `{'device': name}`."""
    device: Required[str]
    port_id: str
    network_id: str
    mac_address: str
    admin_state_up: bool
    network_type: str
    segmentation_id: int | None
    physical_network: str | None
    mtu: int
    fixed_ips: list[FixedIp]
    device_owner: str
    allowed_address_pairs: list[AddressPair]
    port_security_enabled: bool
    qos_policy_id: str | None
    network_qos_policy_id: str | None
    profile: dict[str, Any]
    propagate_uplink_status: bool


class DevicesDetails(TypedDict):
    devices: list[DeviceDetails]
    failed_devices: list[str]


class DeviceListUpdate(TypedDict):
    devices_up: list[str]
    failed_devices_up: list[str]
    devices_down: list[str]
    failed_devices_down: list[str]


class NetworkFdb(TypedDict):
    """One network's forwarding entries: per tunnel endpoint (a host's
    tunneling_ip), [mac, ip] pairs -- one per fixed IP of each port there,
    and FLOODING_ENTRY while the host has any port of the network."""
    segment_id: int | None
    network_type: str
    ports: dict[str, list[list[str]]]
    network_id: NotRequired[str]


# network id -> its entries
FdbEntries = dict[str, NetworkFdb]


def port_id_prefix(device: str) -> str:
    """The port-id prefix a device name (kaon.naming.tap) carries, for
    the server's lookup; a full port id is accepted as well, as ML2's
    _device_to_port_id does."""
    return device[len(TAP_PREFIX):] if device.startswith(TAP_PREFIX) \
        else device
