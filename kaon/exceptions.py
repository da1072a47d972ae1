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
