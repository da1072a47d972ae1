"""The subnet-service-types extension's attribute: `service_types`, the
device_owner values whose ports may take addresses from the subnet."""
from __future__ import annotations

from typing import Any

from kaon import exceptions as exc
from kaon.api.attributes import Attribute

# neutron-lib's validate_subnet_service_types builds its prefixes as
# list(DEVICE_OWNER_PREFIXES) + 'compute:', and `list += str` adds the
# string's characters: so a type is valid when it starts with 'network:',
# 'neutron:' or any one of the characters of 'compute:' ('test:type_1'
# passes, which Tempest relies on).  kaon accepts exactly what Neutron does.
_PREFIXES = ('network:', 'neutron:', *'compute:')


def validate(value: Any) -> list[str]:
    if not value:
        return []
    if not isinstance(value, list):
        raise exc.HTTPBadRequest(msg='Subnet service types must be a list.')
    for service_type in value:
        if not isinstance(service_type, str):
            raise exc.InvalidInputSubnetServiceType(
                service_type=service_type)
        if not service_type.startswith(_PREFIXES) or '\x00' in service_type \
                or len(service_type) > 255:
            raise exc.InvalidSubnetServiceType(service_type=service_type)
    return list(dict.fromkeys(value))


SERVICE_TYPES = Attribute(allow_post=True, allow_put=True, validate=validate,
                          default=list, is_filter=False)
