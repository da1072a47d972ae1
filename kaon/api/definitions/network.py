"""The network resource."""
from kaon.api import validators as v
from kaon.api.attributes import Attribute, Resource
from kaon.api.definitions.common import standard
from kaon.conf import CONF


def _max_mtu() -> int:
    return int(CONF.global_physnet_mtu)   # an IntOpt; oslo is untyped


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
                     validate=v.integer(68, _max_mtu), default=_max_mtu,
                     is_sort_key=True),
    'subnets': Attribute(),
    'port_security_enabled': Attribute(allow_post=True, allow_put=True,
                                       validate=v.boolean, default=True),
})
