"""The subnetpool resource (Neutron's core subnet pools, neutron-lib's
subnetpool definition): prefixes subnets are allocated from.  Prefix
lengths arrive as numbers or decimal strings (neutron-lib converts them
with convert_to_int); the ones left out are the plugin's to compute."""
from typing import Any

from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.common import standard


def _name(value: Any) -> str:
    """neutron-lib's not_empty_name_string: a pool's name is required."""
    name = v.string(255)(value)
    if not name.strip():
        raise v.Invalid(f"'{name}' Blank strings are not permitted")
    return name


_PREFIXLEN = Attribute(allow_post=True, allow_put=True,
                       validate=v.integer(0), omit_if_absent=True,
                       is_sort_key=True)

RESOURCE = Resource('subnetpool', 'subnetpools', {
    **standard(),
    'name': Attribute(allow_post=True, allow_put=True, validate=_name,
                      default=REQUIRED, is_sort_key=True),
    'prefixes': Attribute(allow_post=True, allow_put=True,
                          validate=v.list_of(v.cidr), default=REQUIRED,
                          is_filter=False),
    'default_quota': Attribute(allow_post=True, allow_put=True,
                               validate=v.nullable(v.integer(0)),
                               default=None, is_sort_key=True),
    'ip_version': Attribute(validate=v.enum(4, 6), is_sort_key=True),
    'default_prefixlen': _PREFIXLEN,
    'min_prefixlen': _PREFIXLEN,
    'max_prefixlen': _PREFIXLEN,
    'is_default': Attribute(allow_post=True, allow_put=True,
                            validate=v.boolean, default=False,
                            is_sort_key=True),
    'shared': Attribute(allow_post=True, validate=v.boolean, default=False,
                        is_sort_key=True),
    # The address-scope extension is not served: always null.
    'address_scope_id': Attribute(is_filter=False),
})
