"""The network resource."""
from kaon.api import validators as v
from kaon.api.attributes import Attribute, Resource
from kaon.api.definitions.common import standard
from kaon.conf import CONF


def _max_mtu() -> int:
    return int(CONF.global_physnet_mtu)   # an IntOpt; oslo is untyped


_MTU_RANGE = v.integer(0, _max_mtu)


def _mtu(value: object) -> int:
    """neutron-lib's net-mtu-writable: any non-negative MTU up to the
    physical network's, 0 meaning that maximum (ML2's _get_network_mtu:
    `net_mtu or max_mtu`).  Whether the network can carry its subnets is
    the plugin's check (NetworkMTUSubnetConflict), not the validator's:
    mtu=67 is a valid network until an IPv4 subnet needs 68."""
    return _MTU_RANGE(value) or _max_mtu()


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
    'mtu': Attribute(allow_post=True, allow_put=True,
                     validate=_mtu, default=_max_mtu,
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
