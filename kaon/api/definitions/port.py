"""The port resource, with the extra_dhcp_opt and binding extensions."""
from typing import Any

from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.common import standard

FIXED_IP = v.any_of_keys(v.dict_of({'subnet_id': (v.uuid_like, False),
                                    'ip_address': (v.ip_address, False)}),
                         'subnet_id', 'ip_address')
# Names and values end up in dnsmasq's option files: one line each, and no
# comma in a name (it would start a new field).
DHCP_OPT = v.dict_of({'opt_name': (v.one_line(64, commas=False), True),
                      'opt_value': (v.nullable(v.one_line(255)), True),
                      'ip_version': (v.enum(4, 6), False)},
                     defaults={'ip_version': 4})


# One value per option and IP version (the table's key): a request naming
# one twice would be answered with both and store one.
def _opt_key(opt: dict[str, Any]) -> tuple[str, int]:
    return opt['opt_name'], opt['ip_version']


VNIC_TYPES = ('normal', 'direct', 'macvtap', 'baremetal', 'direct-physical',
              'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed')

RESOURCE = Resource('port', 'ports', {
    **standard(),
    'network_id': Attribute(allow_post=True, validate=v.uuid_like,
                            default=REQUIRED, is_sort_key=True),
    'admin_state_up': Attribute(allow_post=True, allow_put=True,
                                validate=v.boolean, default=True,
                                is_sort_key=True),
    'mac_address': Attribute(allow_post=True, allow_put=True,
                             validate=v.mac_address, omit_if_absent=True,
                             is_sort_key=True),
    'fixed_ips': Attribute(allow_post=True, allow_put=True,
                           validate=v.nullable(v.list_of(FIXED_IP)),
                           omit_if_absent=True),
    'device_id': Attribute(allow_post=True, allow_put=True,
                           validate=v.string(255), default='',
                           is_sort_key=True),
    'device_owner': Attribute(allow_post=True, allow_put=True,
                              validate=v.string(255), default='',
                              is_sort_key=True),
    'status': Attribute(is_sort_key=True),
    'extra_dhcp_opts': Attribute(allow_post=True, allow_put=True,
                                 validate=v.nullable(v.list_of(
                                     DHCP_OPT, unique=True, key=_opt_key)),
                                 default=list, is_filter=False),
    'binding:host_id': Attribute(allow_post=True, allow_put=True,
                                 validate=v.string(255), default=''),
    'binding:vnic_type': Attribute(allow_post=True, allow_put=True,
                                   validate=v.enum(*VNIC_TYPES),
                                   default='normal'),
})
