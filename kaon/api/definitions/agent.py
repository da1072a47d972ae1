"""The agent resource (Neutron's agent extension): admins read, update the
admin state and description, and delete; agents create themselves by
reporting state over RPC."""
from kaon.api import validators as v
from kaon.api.attributes import Attribute, Resource

_SHOWN = Attribute(is_sort_key=True)
_TIME = Attribute(is_filter=False, is_sort_key=True)

RESOURCE = Resource('agent', 'agents', {
    'id': Attribute(validate=v.uuid_like, is_sort_key=True),
    'agent_type': _SHOWN, 'binary': _SHOWN, 'topic': _SHOWN, 'host': _SHOWN,
    'availability_zone': _SHOWN,
    'admin_state_up': Attribute(allow_put=True, validate=v.boolean,
                                is_sort_key=True),
    'description': Attribute(allow_put=True, validate=v.string(255)),
    'created_at': _TIME, 'started_at': _TIME, 'heartbeat_timestamp': _TIME,
    'configurations': Attribute(is_filter=False),
    'alive': Attribute(is_filter=False),
    'resources_synced': Attribute(is_filter=False),
}, creatable=False)
