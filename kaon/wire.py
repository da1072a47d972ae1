"""The wire contract between the server and its DHCP agents, typed once.

What travels over RPC (shared/RPC.md; Neutron's DhcpAgentNotifyAPI casts,
DhcpRpcCallback answers and report_state) as `TypedDict`s, and what the
agent asks of a DHCP driver and of the server as `Protocol`s.  Keys are
Neutron's, as its payloads spell them (shared/rpc-examples/): Neutron's
agents and kaon's read the same dicts.  Keys a payload may lack (a cast
carries less than an answer, an older server sends fewer attributes) are
not Required.

One port id, from `POST /v2.0/ports` to its hostsdir file: the API's
generic controller -> `Plugin.create('port', ...)` (kaon.plugin.core), which
publishes the port after commit -> `DhcpAgentNotifier._port_created`
(kaon.rpc.notifier) builds a `PortEvent` for each hosting agent -> the cast
`port_create_end(payload: PortEvent)` (kaon.agent.dhcp.casts) ->
`DhcpAgent.port_changed(port: Port)` -> `DhcpDriver.update_ports([port])`
-> `dnsmasq_ports.write_port(state, port, ...)` ->
`dnsmasq_files.port_files(port, ...)` -> `<dhcp_confs>/<network>/host/<id>`;
or a sync: `DhcpServerApi.get_network_info` -> `NetworkInfo['ports']` ->
`DhcpAgent.configure_network` -> `DhcpDriver.reload_allocations()` -> the
same write_port.
"""
from __future__ import annotations

from typing import Any, NotRequired, Protocol, Required, TypedDict


class FixedIp(TypedDict):
    """One address of a port, as the server allocated it."""
    subnet_id: str
    ip_address: str


class FixedIpRequest(TypedDict, total=False):
    """An address asked for: a subnet, an address only to pin one."""
    subnet_id: Required[str]
    ip_address: str


class AllocationPool(TypedDict):
    start: str
    end: str


class HostRoute(TypedDict):
    destination: str
    nexthop: str


class ExtraDhcpOpt(TypedDict, total=False):
    """A port's extra DHCP option (extra_dhcp_opt extension)."""
    opt_name: Required[str]
    opt_value: Required[str | None]
    ip_version: int


class AddressPair(TypedDict, total=False):
    ip_address: Required[str]
    mac_address: str


class StandardAttrs(TypedDict, total=False):
    """Neutron's standard attributes, which every resource carries."""
    name: str
    description: str
    project_id: str
    tenant_id: str
    tags: list[str]
    revision_number: int
    standard_attr_id: int
    created_at: str
    updated_at: str


# Functional syntax for the keys that carry a colon.
_SubnetColonKeys = TypedDict('_SubnetColonKeys', {
    'router:external': bool,
}, total=False)
_PortColonKeys = TypedDict('_PortColonKeys', {
    'binding:host_id': str,
    'binding:profile': dict[str, Any],
    'binding:vif_details': dict[str, Any],
    'binding:vif_type': str,
    'binding:vnic_type': str,
}, total=False)


_NetworkColonKeys = TypedDict('_NetworkColonKeys', {
    'provider:network_type': str | None,
    'provider:physical_network': str | None,
    'provider:segmentation_id': int | None,
    'router:external': bool,
}, total=False)


class NetworkRef(StandardAttrs, _NetworkColonKeys, total=False):
    """A network as casts carry it: network_create_end only its id,
    network_update_end and the `network` of port / subnet casts the API's
    network (whose `subnets` are ids)."""
    id: Required[str]
    admin_state_up: bool
    mtu: int
    subnets: list[str]
    status: str
    shared: bool
    availability_zone_hints: list[str]
    availability_zones: list[str]
    ipv4_address_scope: str | None
    ipv6_address_scope: str | None
    port_security_enabled: bool
    qinq: bool | None
    vlan_transparent: bool | None


class Subnet(StandardAttrs, _SubnetColonKeys, total=False):
    id: Required[str]
    network_id: Required[str]
    cidr: Required[str]
    ip_version: Required[int]
    enable_dhcp: Required[bool]
    gateway_ip: str | None
    allocation_pools: list[AllocationPool]
    dns_nameservers: list[str]
    host_routes: list[HostRoute]
    ipv6_address_mode: str | None
    ipv6_ra_mode: str | None
    subnetpool_id: str | None
    segment_id: str | None
    service_types: list[str]
    shared: bool
    network: NetworkRef                 # subnet casts only


class _PortAttrs(StandardAttrs, _PortColonKeys, total=False):
    """A port's keys but its addresses (Port and SecurityGroupPort carry
    them in two forms)."""
    id: Required[str]
    network_id: Required[str]
    mac_address: Required[str]
    device_owner: str
    device_id: str
    admin_state_up: bool
    extra_dhcp_opts: list[ExtraDhcpOpt]
    allowed_address_pairs: list[AddressPair]
    port_security_enabled: bool
    security_groups: list[str]
    status: str


class Port(_PortAttrs, total=False):
    fixed_ips: Required[list[FixedIp]]
    network: NetworkRef                 # port casts only


class NetworkInfo(TypedDict):
    """get_network_info / get_active_networks_info: a network with its
    subnets and ports (Neutron's NetModel source)."""
    id: str
    admin_state_up: bool
    mtu: int
    project_id: str
    subnets: list[Subnet]
    ports: list[Port]
    non_local_subnets: NotRequired[list[Subnet]]


# -- casts to the agent (payload=...) ------------------------------------
class NetworkEvent(TypedDict):
    """network_create_end / network_update_end."""
    network: NetworkRef
    priority: NotRequired[int]


class NetworkDeleteEvent(TypedDict):
    network_id: str
    priority: NotRequired[int]


class SubnetEvent(TypedDict):
    """subnet_create_end / subnet_update_end."""
    subnet: Subnet
    priority: NotRequired[int]


class SubnetDeleteEvent(TypedDict):
    network_id: str
    subnet_id: NotRequired[str]
    priority: NotRequired[int]


class PortEvent(TypedDict):
    """port_create_end / port_update_end."""
    port: Port
    priority: NotRequired[int]


class PortDeleteEvent(TypedDict):
    network_id: str
    port_id: str
    fixed_ips: NotRequired[list[FixedIp]]
    priority: NotRequired[int]


# -- calls from the agent ------------------------------------------------
class DhcpPortBody(TypedDict, total=False):
    network_id: Required[str]
    device_id: str
    fixed_ips: list[FixedIpRequest]
    name: str
    admin_state_up: bool
    project_id: str


class DhcpPortRequest(TypedDict):
    """create_dhcp_port / update_dhcp_port's `port` argument."""
    port: DhcpPortBody


class DhcpCounts(TypedDict):
    """What a DHCP agent serves (Neutron's configurations)."""
    networks: int
    subnets: int
    ports: int


class DhcpHealth(TypedDict):
    """kaon's additions: what fails, and the first few with why."""
    networks_failed: int
    failed_networks: dict[str, str]        # network id -> reason
    subnets_unserved: int
    unserved_subnets: dict[str, str]       # subnet id -> reason
    file_repairs: int


class DhcpConfigurations(DhcpCounts, DhcpHealth):
    """A DHCP agent's report_state configurations."""
    inotify_max_user_instances: int | None
    dhcp_driver: str
    dhcp_lease_duration: int
    log_agent_heartbeats: bool


class AgentState(TypedDict):
    """report_state's agent_state['agent_state'] (the server reads
    `configurations` of every agent type; a DHCP agent's are
    DhcpConfigurations)."""
    binary: str
    host: str
    availability_zone: str
    topic: str
    agent_type: str
    configurations: DhcpConfigurations | dict[str, Any]
    uuid: str
    start_flag: NotRequired[bool]


class SecurityGroupRule(TypedDict, total=False):
    """One rule as Neutron 29's security_group_info_for_devices hands it
    to a firewall: only the keys whose value is not None (no protocol =
    any, no port range = all ports, no prefix = any address); the remote
    prefix is named by the side it matches, `source_ip_prefix` for
    ingress and `dest_ip_prefix` for egress; `stateful` is the group's.
    The provider rules of a port (its `security_group_rules`) have the
    same shape plus the source port range (DHCP replies)."""
    direction: Required[str]            # 'ingress' | 'egress' (VM's view)
    ethertype: Required[str]            # 'IPv4' | 'IPv6'
    protocol: str                       # a name or number, as stored
    port_range_min: int
    port_range_max: int
    source_port_range_min: int          # provider rules only
    source_port_range_max: int          # provider rules only
    source_ip_prefix: str               # ingress
    dest_ip_prefix: str                 # egress
    remote_group_id: str
    remote_address_group_id: str
    stateful: bool


# [ip, mac]: the MAC only for allowed address pairs, None (JSON null) for
# fixed IPs (Neutron's _select_ips_for_remote_group reads no MAC for them).
# A list, not a tuple: JSON carries it as one.
MemberPair = list[str | None]


class SecurityGroupMembers(TypedDict, total=False):
    """A remote group's addresses per ethertype the rules naming it use
    (RPC 1.3; callers of 1.2 get bare ips from Neutron)."""
    IPv4: list[MemberPair]
    IPv6: list[MemberPair]


class SecurityGroupPort(_PortAttrs, total=False):
    """A device of the answer: the API's port dict, its addresses as bare
    strings, plus what the firewall reads besides (Neutron's
    security_group_info_for_ports)."""
    fixed_ips: Required[list[str]]
    device: Required[str]               # the name the agent asked with
    security_group_rules: list[SecurityGroupRule]   # provider rules
    security_group_source_groups: list[str]
    security_group_remote_address_groups: list[str]


class SecurityGroupInfo(TypedDict):
    """The answer to security_group_info_for_devices(devices) (topic
    q-plugin, no namespace, SecurityGroupServerRpcApi 1.3 with
    call_version='1.3'): the ports asked for by id (network
    infrastructure's own left out); every rule of their groups (a group
    with none maps to []); the members of every group a rule names as
    remote."""
    devices: dict[str, SecurityGroupPort]
    security_groups: dict[str, list[SecurityGroupRule]]
    sg_member_ips: dict[str, SecurityGroupMembers]


class SecurityGroupServerApi(Protocol):
    """What a firewall asks the server (topic q-plugin)."""

    def security_group_info_for_devices(
            self, devices: list[str]) -> SecurityGroupInfo: ...


class SecurityGroupUpdates(Protocol):
    """The casts a firewall agent answers (fanout topic
    q-agent-notifier-security_group-update, SecurityGroupAgentRpc 1.1;
    shared/rpc-examples: each carries a list of group ids)."""

    def security_groups_rule_updated(self, security_groups: list[str]
                                     ) -> None: ...

    def security_groups_member_updated(self, security_groups: list[str]
                                       ) -> None: ...


class DhcpServerApi(Protocol):
    """What the agent, its device manager and its drivers ask the server
    (topic q-plugin; kaon.rpc.agent_api.DhcpPluginApi)."""

    def get_active_networks_info(self) -> list[NetworkInfo]: ...

    def get_network_info(self, network_id: str) -> NetworkInfo | None: ...

    def create_dhcp_port(self, port: DhcpPortRequest) -> Port | None: ...

    def update_dhcp_port(self, port_id: str,
                         port: DhcpPortRequest) -> Port | None: ...

    def release_dhcp_port(self, network_id: str, device_id: str) -> None: ...

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None: ...


class DhcpDriver(Protocol):
    """One network's DHCP service on this host: what the agent calls.

    Every call for one network comes from that network's queued work, one
    at a time (kaon.work_queue)."""

    network: NetworkInfo

    @property
    def active(self) -> bool:
        """Is the DHCP server for this network running?"""

    @property
    def unserved_subnets(self) -> dict[str, str]:
        """Subnet id -> why it is left out (the others are still served)."""

    def enable(self) -> None:
        """Plug the DHCP port, write every file, start (or adopt) the
        server.

        :raises DhcpServeError: the server cannot serve this network.
        :raises oslo_messaging.MessagingException: the server (kaon's)
            could not be asked for the DHCP port.
        """

    def disable(self, retain_port: bool = False) -> None:
        """Stop the server, unplug, remove namespace and files; release
        the DHCP port through the server unless `retain_port`."""

    def restart(self) -> None:
        """Stop and start again, keeping the DHCP port (CIDRs changed).

        :raises DhcpServeError: as enable()."""

    def reload_allocations(self) -> None:
        """Bring everything in line with `self.network` (full reconcile).

        :raises DhcpServeError: as enable()."""

    def update_ports(self, ports: list[Port]) -> None:
        """Serve these new or changed ports; cost independent of the
        network's size."""

    def remove_ports(self, ports: list[Port]) -> None:
        """Stop serving these ports at once and release their leases."""

    def check_files(self) -> list[str]:
        """Repair drift between what the server needs on disk and what is
        there; one line per repair, [] when all was right.

        :raises DhcpServeError: the server cannot be made to read them."""


class DhcpBackend(Protocol):
    """What `dhcp_driver` names (entry point group kaon.dhcp_drivers): one
    per agent, holding what the agent's drivers share (reload state,
    processes), so two agents in one process share nothing."""

    def driver(self, network: NetworkInfo) -> DhcpDriver:
        """The driver of `network` (a new object on fresh network info;
        what it shares with the network's earlier drivers lives here)."""

    def existing_dhcp_networks(self) -> list[str]:
        """Ids of networks that have state on this host (for clean-up)."""
