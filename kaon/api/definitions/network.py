"""The network resource."""
from kaon.api import validators as v
from kaon.api.attributes import Attribute, Resource
from kaon.api.definitions.common import standard

RESOURCE = Resource('network', 'networks', {
    **standard(),
    'admin_state_up': Attribute(allow_post=True, allow_put=True,
                                validate=v.boolean, default=True,
                                is_sort_key=True),
    'status': Attribute(is_sort_key=True),
    'shared': Attribute(allow_post=True, allow_put=True, validate=v.boolean,
                        default=False, is_sort_key=True),
    'router:external': Attribute(allow_post=True, allow_put=True,
                                 validate=v.boolean, default=False),
    # neutron-lib's net-mtu-writable: any non-negative MTU; whether the
    # network's segment carries it (and 0 or none: its maximum) is the
    # plugin's check, as is whether it can carry its subnets
    # (NetworkMTUSubnetConflict: mtu=67 is a valid network until an IPv4
    # subnet needs 68).
    'mtu': Attribute(allow_post=True, allow_put=True,
                     validate=v.integer(0), omit_if_absent=True,
                     is_sort_key=True),
    'subnets': Attribute(),
    # The provider extension (neutron-lib's provider_net); what a network
    # may carry is kaon.plugin.segments' check.
    'provider:network_type': Attribute(
        allow_post=True, allow_put=True, validate=v.nullable(v.string(32)),
        omit_if_absent=True),
    'provider:physical_network': Attribute(
        allow_post=True, allow_put=True, validate=v.nullable(v.string(64)),
        omit_if_absent=True),
    'provider:segmentation_id': Attribute(
        allow_post=True, allow_put=True, validate=v.nullable(v.integer()),
        omit_if_absent=True),
    'port_security_enabled': Attribute(allow_post=True, allow_put=True,
                                       validate=v.boolean, default=True),
})
