"""The subnet resource."""
from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.common import standard
from kaon.api.definitions.subnet_service_types import SERVICE_TYPES

IPV6_MODES = v.nullable(v.enum('slaac', 'dhcpv6-stateful',
                               'dhcpv6-stateless'))
POOL = v.dict_of({'start': (v.ip_address, True),
                  'end': (v.ip_address, True)})
ROUTE = v.dict_of({'destination': (v.cidr, True),
                   'nexthop': (v.ip_address, True)})

RESOURCE = Resource('subnet', 'subnets', {
    **standard(),
    'network_id': Attribute(allow_post=True, validate=v.uuid_like,
                            default=REQUIRED, is_sort_key=True),
    'ip_version': Attribute(allow_post=True, validate=v.enum(4, 6),
                            default=REQUIRED, is_sort_key=True),
    # Left out (or null) when a subnet pool allocates it.
    'cidr': Attribute(allow_post=True, validate=v.nullable(v.cidr),
                      omit_if_absent=True, is_sort_key=True),
    'gateway_ip': Attribute(allow_post=True, allow_put=True,
                            validate=v.nullable(v.ip_address),
                            omit_if_absent=True, is_sort_key=True),
    'allocation_pools': Attribute(allow_post=True, allow_put=True,
                                  validate=v.nullable(v.list_of(POOL)),
                                  omit_if_absent=True, is_filter=False),
    'dns_nameservers': Attribute(allow_post=True, allow_put=True,
                                 validate=v.nullable(v.list_of(
                                     v.ip_address, unique=True)),
                                 default=list, is_filter=False),
    'host_routes': Attribute(allow_post=True, allow_put=True,
                             validate=v.nullable(v.list_of(
                                 ROUTE, unique=True)),
                             default=list, is_filter=False),
    'enable_dhcp': Attribute(allow_post=True, allow_put=True,
                             validate=v.boolean, default=True,
                             is_sort_key=True),
    'ipv6_ra_mode': Attribute(allow_post=True, validate=IPV6_MODES),
    'ipv6_address_mode': Attribute(allow_post=True, validate=IPV6_MODES),
    # A filter only (whether the subnet's network is shared with the
    # caller); never in a subnet's body, as in Neutron.
    'shared': Attribute(validate=v.boolean),
    # subnet_allocation: the pool the CIDR comes from, and the length of
    # the CIDR to allocate (write-only, as neutron-lib's is_visible False).
    'subnetpool_id': Attribute(allow_post=True,
                               validate=v.nullable(v.uuid_like),
                               default=None, is_sort_key=True),
    'prefixlen': Attribute(allow_post=True, validate=v.integer(0),
                           omit_if_absent=True, is_filter=False),
    'service_types': SERVICE_TYPES,
})
