"""The security_group resource (security-group, stateful-security-group)."""
from kaon.api import validators as v
from kaon.api.attributes import Attribute, Resource
from kaon.api.definitions.common import standard

# The name may not be 'default' in a POST or PUT (kaon.plugin.
# security_groups.check_name); it may in a filter (?name=default).
RESOURCE = Resource('security_group', 'security_groups', {
    **standard(),
    'stateful': Attribute(allow_post=True, allow_put=True,
                          validate=v.boolean, default=True),
    # Derived from RBAC policies (kaon.plugin.security_groups.shared).
    'shared': Attribute(validate=v.boolean),
    'security_group_rules': Attribute(is_filter=False),
})
