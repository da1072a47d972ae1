"""The default_security_group_rule resource (security-groups-default-rules):
the admin's template of the rules every new group gets.  remote_group_id
may be the literal 'PARENT', the new group itself."""
from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.security_group_rule import rule_attributes

RESOURCE = Resource('default_security_group_rule',
                    'default_security_group_rules', {
                        **rule_attributes(),
                        'used_in_default_sg': Attribute(
                            allow_post=True, validate=v.boolean,
                            default=REQUIRED),
                        'used_in_non_default_sg': Attribute(
                            allow_post=True, validate=v.boolean,
                            default=REQUIRED),
                    })
