"""Errors the plugin raises, named and worded as Neutron's.

Clients match on the `type` of a NeutronError (the class name) and sometimes
on the message, so both follow neutron-lib.  The HTTP status belongs to the
API layer; here each family only says what kind of failure it is.
"""
from __future__ import annotations

from typing import Callable


class NeutronException(Exception):
    message = 'An unknown exception occurred.'

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.msg = self.message % kwargs if kwargs else self.message
        super().__init__(self.msg)

    @property
    def type(self) -> str:
        return type(self).__name__


class BadRequest(NeutronException):
    message = 'Bad %(resource)s request: %(msg)s.'


class NotFound(NeutronException):
    pass


class Conflict(NeutronException):
    pass


class NotAuthorized(NeutronException):
    message = 'Not authorized.'


class InvalidInput(BadRequest):
    message = 'Invalid input for operation: %(error_message)s.'


class HTTPBadRequest(BadRequest):
    """What Neutron raises for attribute-map violations (webob's name)."""
    message = '%(msg)s'


class MalformedRequestBody(BadRequest):
    message = 'Malformed request body: %(reason)s.'


class PolicyNotAuthorized(NotAuthorized):
    message = '(%(action)s) is disallowed by policy.'


class NetworkNotFound(NotFound):
    message = 'Network %(net_id)s could not be found.'


class SubnetNotFound(NotFound):
    message = 'Subnet %(subnet_id)s could not be found.'


class PortNotFound(NotFound):
    message = 'Port %(port_id)s could not be found.'


class AgentNotFound(NotFound):
    message = 'Agent %(id)s could not be found.'


class ResourceNotFound(NotFound):
    message = 'The resource could not be found.'


_NOT_FOUND: dict[str, Callable[[str], NotFound]] = {
    'network': lambda i: NetworkNotFound(net_id=i),
    'subnet': lambda i: SubnetNotFound(subnet_id=i),
    'port': lambda i: PortNotFound(port_id=i),
    'agent': lambda i: AgentNotFound(id=i),
    'security_group': lambda i: SecurityGroupNotFound(id=i),
    'security_group_rule': lambda i: SecurityGroupRuleNotFound(id=i),
    'default_security_group_rule':
        lambda i: DefaultSecurityGroupRuleNotFound(id=i),
}


def not_found(resource: str, item_id: str) -> NotFound:
    """What a GET of a missing (or hidden) `resource` raises, by Neutron's
    types: the same for a show and for a list's marker."""
    make = _NOT_FOUND.get(resource)
    return ResourceNotFound() if make is None else make(item_id)


# The dhcp_agent_scheduler extension's (Neutron's names and messages).
class NetworkHostedByDHCPAgent(Conflict):
    message = ('The network %(network_id)s has been already hosted by the '
               'DHCP Agent %(agent_id)s.')


class NetworkNotHostedByDhcpAgent(Conflict):
    message = ('The network %(network_id)s is not hosted by the DHCP agent '
               '%(agent_id)s.')


class InvalidDHCPAgent(NotFound):
    message = 'Agent %(id)s is not a valid DHCP Agent or has been disabled.'


class InUse(Conflict):
    message = 'The resource is in use.'


class NetworkInUse(InUse):
    message = ('Unable to complete operation on network %(net_id)s. '
               'There are one or more ports still in use on the network.')


class SubnetInUse(InUse):
    message = ('Unable to complete operation on subnet %(subnet_id)s: '
               '%(reason)s.')


class MacAddressInUse(InUse):
    message = ('Unable to complete operation for network %(net_id)s. '
               'The mac address %(mac)s is in use.')


class MacAddressGenerationFailure(Conflict):
    message = 'Unable to generate unique mac on network %(net_id)s.'


class IpAddressAlreadyAllocated(Conflict):
    message = 'IP address %(ip)s already allocated in subnet %(subnet_id)s.'


class IpAddressGenerationFailure(Conflict):
    message = 'No more IP addresses available on network %(net_id)s.'


class InvalidIpForSubnet(BadRequest):
    message = ('IP address %(ip_address)s is not a valid IP for the '
               'specified subnet.')


class InvalidIpForNetwork(BadRequest):
    message = ('IP address %(ip_address)s is not a valid IP for any of the '
               'subnets on the specified network.')


class OverlappingAllocationPools(Conflict):
    message = ('Found overlapping allocation pools: %(pool_1)s %(pool_2)s '
               'for subnet %(subnet_cidr)s.')


class OutOfBoundsAllocationPool(BadRequest):
    message = ('The allocation pool %(pool)s spans beyond the subnet cidr '
               '%(subnet_cidr)s.')


class InvalidAllocationPool(BadRequest):
    message = 'The allocation pool %(pool)s is not valid.'


class GatewayConflictWithAllocationPools(InUse):
    message = ('Gateway ip %(ip_address)s conflicts with allocation pool '
               '%(pool)s.')


class GatewayIpInUse(InUse):
    message = ('Current gateway ip %(ip_address)s already in use by port '
               '%(port_id)s. Unable to update.')


class DNSNameServersExhausted(BadRequest):
    message = ('Unable to complete operation for %(subnet_id)s. The number '
               'of DNS nameservers exceeds the limit %(quota)s.')


class HostRoutesExhausted(BadRequest):
    message = ('Unable to complete operation for %(subnet_id)s. The number '
               'of host routes exceeds the limit %(quota)s.')


class NetworkMTUSubnetConflict(Conflict):
    """Neutron's (neutron/common/exceptions.py): IPv6 needs a link MTU of
    at least 1280 (RFC 8200), so an IPv6 subnet and a smaller MTU never
    share a network."""
    message = ('MTU of %(net_id)s is not valid, subnet requires a minimum '
               'of %(mtu)s')


class OverQuota(Conflict):
    message = 'Quota exceeded for resources: %(overs)s.'


class RetryRequest(Exception):
    """Raised inside a transaction to have the whole transaction retried."""


class PreconditionFailed(NeutronException):
    """HTTP 412: a condition the request set (If-Match) does not hold."""


class RevisionNumberConstraintFailed(PreconditionFailed):
    """Neutron's (revision_plugin): If-Match: revision_number=N named
    another revision than the resource has."""
    message = 'Constrained to %(expected)s, but current revision is ' \
        '%(current)s'


class FlatNetworkInUse(InUse):
    message = ('Unable to create the flat network. Physical network '
               '%(physical_network)s is in use.')
# RBAC policies (neutron/extensions/rbac.py, neutron/db/rbac_db_models.py).
class RbacPolicyNotFound(NotFound):
    message = 'RBAC policy of type %(object_type)s with ID %(id)s not found'


# Neutron looks a policy's type up by its id in the caller's view, so a
# missing or hidden one is of type 'unknown'.
_NOT_FOUND['rbac_policy'] = lambda i: RbacPolicyNotFound(
    id=i, object_type='unknown')


class RbacPolicyInUse(Conflict):
    message = ('RBAC policy on object %(object_id)s cannot be removed '
               'because other objects depend on it.\nDetails: %(details)s')


class DuplicateRbacPolicy(Conflict):
    message = 'An RBAC policy already exists with those values.'


class InvalidActionForType(InvalidInput):
    message = ("Invalid action '%(action)s' for object type "
               "'%(object_type)s'. Valid actions: %(valid_actions)s")


class InvalidSharedSetting(Conflict):
    message = ('Unable to reconfigure sharing settings for network '
               '%(network)s. Multiple tenants are using it.')


# Allowed address pairs (neutron_lib/exceptions/allowedaddresspairs.py).
class AllowedAddressPairsMissingIP(InvalidInput):
    message = 'AllowedAddressPair must contain ip_address'
# Security groups, their rules and default rules, port security
# (neutron/extensions/securitygroup.py, security_groups_default_rules.py,
# neutron_lib.exceptions.port_security / allowedaddresspairs).
class SecurityGroupNotFound(NotFound):
    message = 'Security group %(id)s does not exist'


class SecurityGroupRuleNotFound(NotFound):
    message = 'Security group rule %(id)s does not exist'


class DefaultSecurityGroupRuleNotFound(NotFound):
    message = 'Default Security Group rule %(id)s does not exist'


class SecurityGroupInUse(InUse):
    message = 'Security Group %(id)s %(reason)s.'

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault('reason', 'in use')
        super().__init__(**kwargs)


class SecurityGroupCannotRemoveDefault(InUse):
    message = 'Insufficient rights for removing default security group.'


class SecurityGroupCannotUpdateDefault(InUse):
    message = 'Updating default security group not allowed.'


class SecurityGroupDefaultAlreadyExists(InUse):
    message = 'Default security group already exists.'


class SecurityGroupRuleExists(InUse):
    message = 'Security group rule already exists. Rule id is %(rule_id)s.'


class DuplicateSecurityGroupRuleInPost(InUse):
    message = 'Duplicate Security Group Rule in POST.'


class DefaultSecurityGroupRuleExists(InUse):
    message = ('Default Security group rule already exists. Rule id is '
               '%(rule_id)s.')


class DuplicateDefaultSgRuleInPost(InUse):
    message = 'Duplicate Default Security Group Rule in POST.'


class SecurityGroupConflict(Conflict):
    message = 'Error %(reason)s while attempting the operation.'


class SecurityGroupInvalidPortRange(InvalidInput):
    message = ('For TCP/UDP protocols, port_range_min must be <= '
               'port_range_max')


class SecurityGroupInvalidProtocolForPort(InvalidInput):
    message = ('Ports cannot be specified for protocol %(protocol)s. Ports '
               'are only supported for %(valid_port_protocols)s.')


class SecurityGroupInvalidPortValue(InvalidInput):
    message = 'Invalid value for port %(port)s'


class SecurityGroupInvalidIcmpValue(InvalidInput):
    message = ('Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It '
               'must be 0 to 255.')


class SecurityGroupEthertypeConflictWithProtocol(InvalidInput):
    message = 'Invalid ethertype %(ethertype)s for protocol %(protocol)s.'


class SecurityGroupMissingIcmpType(InvalidInput):
    message = ('ICMP code (port-range-max) %(value)s is provided but ICMP '
               'type (port-range-min) is missing.')


class SecurityGroupRuleInvalidProtocol(InvalidInput):
    message = ('Security group rule protocol %(protocol)s not supported. '
               'Only protocol values %(values)s and integer representations '
               '[0 to 255] are supported.')


class SecurityGroupRuleInvalidEtherType(InvalidInput):
    message = ("Security group rule for ethertype '%(ethertype)s' not "
               'supported. Allowed values are %(values)s.')


class SecurityGroupRulesNotSingleProject(InvalidInput):
    message = ('Multiple project_ids in bulk security group rule create not '
               'allowed')


class SecurityGroupNotSingleGroupRules(InvalidInput):
    message = 'Only allowed to update rules for one security profile at a time'


class SecurityGroupMultipleRemoteEntites(InvalidInput):
    message = ('Only one of remote_ip_prefix or remote_group_id or '
               'remote_address_group_id may be provided.')


class SecurityGroupProtocolRequiredWithPorts(InvalidInput):
    message = 'Must also specify protocol if port range is given.'


class SecurityGroupRuleParameterConflict(InvalidInput):
    message = 'Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s'


class InvalidCIDR(BadRequest):
    message = 'Invalid CIDR %(input)s given as IP prefix.'


class PortSecurityPortHasSecurityGroup(InUse):
    message = ('Port has security group associated. Cannot disable port '
               'security or IP address until security group is removed.')


class PortSecurityAndIPRequiredForSecurityGroups(InvalidInput):
    message = ('Port security must be enabled and port must have an IP '
               'address in order to use security groups.')


class AddressPairAndPortSecurityRequired(Conflict):
    message = ('Port Security must be enabled in order to have allowed '
               'address pairs on a port.')


class DuplicateAddressPairInRequest(InvalidInput):
    message = ('Request contains duplicate address pair: mac_address '
               '%(mac_address)s ip_address %(ip_address)s.')


class AllowedAddressPairExhausted(BadRequest):
    message = ('The number of allowed address pair exceeds the maximum '
               '%(quota)s.')
# Subnet pools (neutron-lib's names and messages).
class SubnetPoolNotFound(NotFound):
    message = 'Subnet pool %(subnetpool_id)s could not be found.'


_NOT_FOUND['subnetpool'] = lambda i: SubnetPoolNotFound(subnetpool_id=i)


class EmptySubnetPoolPrefixList(BadRequest):
    message = 'Empty subnet pool prefix list.'


class PrefixVersionMismatch(BadRequest):
    message = 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.'


class UnsupportedMinSubnetPoolPrefix(BadRequest):
    message = "Prefix '%(prefix)s' not supported in IPv%(version)s pool."


class IllegalSubnetPoolPrefixBounds(BadRequest):
    message = ('Illegal prefix bounds: %(prefix_type)s=%(prefixlen)s, '
               '%(base_prefix_type)s=%(base_prefixlen)s.')


class IllegalSubnetPoolPrefixUpdate(BadRequest):
    message = 'Illegal update to prefixes: %(msg)s.'


class SubnetPoolDeleteError(BadRequest):
    message = 'Unable to delete subnet pool: %(reason)s.'


class MinPrefixSubnetAllocationError(BadRequest):
    message = ('Unable to allocate subnet with prefix length %(prefixlen)s, '
               'minimum allowed prefix is %(min_prefixlen)s.')


class MaxPrefixSubnetAllocationError(BadRequest):
    message = ('Unable to allocate subnet with prefix length %(prefixlen)s, '
               'maximum allowed prefix is %(max_prefixlen)s.')


class SubnetAllocationError(Conflict):
    """Neutron raises it as a bare NeutronException, which its API turns
    into a 500; kaon answers 409: the pool has no room, nothing failed."""
    message = 'Failed to allocate subnet: %(reason)s.'


class SubnetPoolQuotaExceeded(OverQuota):
    message = 'Per-project subnet pool prefix quota exceeded.'


# subnet-service-types (neutron-lib's and neutron.ipam's).
class InvalidSubnetServiceType(InvalidInput):
    message = ('Subnet service type %(service_type)s does not correspond '
               'to a valid device owner.')


class InvalidInputSubnetServiceType(InvalidInput):
    message = 'Subnet service type %(service_type)s is not a string.'


class IpAddressGenerationFailureNoMatchingSubnet(IpAddressGenerationFailure):
    message = ('No valid service subnet for the given device owner, '
               'network %(network_id)s, service type %(service_type)s.')


# Segments (neutron-lib's exceptions for ML2's vlan and vxlan type drivers).
class VlanIdInUse(InUse):
    message = ('Unable to create the network. The VLAN %(vlan_id)s on '
               'physical network %(physical_network)s is in use.')


class TunnelIdInUse(InUse):
    message = ('Unable to create the network. The tunnel ID %(tunnel_id)s '
               'is in use.')


class ServiceUnavailable(NeutronException):
    message = 'The service is unavailable.'


class NoNetworkAvailable(ServiceUnavailable):
    """neutron-lib's (a ResourceExhausted): every segment of every
    tenant network type is taken."""
    message = ('Unable to create the network. No project network is '
               'available for allocation.')


class SegmentRangeError(Exception):
    """A bad range in the type drivers' configuration: the server refuses
    to start, as Neutron's ML2 does ('Failed to parse vni_ranges. Service
    terminated!'), naming the option."""

    def __init__(self, option: str, entry: object, error: str) -> None:
        super().__init__(f"{option}: invalid range '{entry}' - {error}")
