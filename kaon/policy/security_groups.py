"""Neutron's default access rules for security groups, their rules and
the default-rules template (neutron/conf/policies/security_group.py and
default_security_group_rules.py).

One simplification: Neutron lets the owner of a group see and delete a
rule someone else (an admin) put in it, through the rule's
`security_group:project_id`; here a rule is judged by its own project.
"""
from __future__ import annotations

from oslo_policy import policy

from kaon.policy.defaults import (
    ADMIN,
    ADMIN_OR_MEMBER,
    ADMIN_OR_NET_OWNER,
    ADMIN_OR_READER,
    SERVICE,
    either,
)


def _rule(name: str, check: str, description: str) -> policy.RuleDefault:
    return policy.RuleDefault(name, check, description=description)


RULES = [
    _rule('shared_security_group', 'field:security_groups:shared=True',
          'The security group is shared with every project (RBAC).'),
    _rule('create_security_group', ADMIN_OR_MEMBER, 'Create a group.'),
    _rule('get_security_group', either(ADMIN_OR_READER,
                                       'rule:shared_security_group'),
          'Show a group; shared ones are readable by all.'),
    _rule('update_security_group', ADMIN_OR_MEMBER, 'Update a group.'),
    _rule('delete_security_group', ADMIN_OR_MEMBER, 'Delete a group.'),
    _rule('create_security_group_rule', ADMIN_OR_MEMBER,
          "Add a rule to one of the project's groups."),
    _rule('get_security_group_rule', ADMIN_OR_READER, 'Show a rule.'),
    _rule('delete_security_group_rule', ADMIN_OR_MEMBER, 'Delete a rule.'),
    _rule('create_default_security_group_rule', ADMIN,
          'Add a rule to the template of new groups.'),
    _rule('get_default_security_group_rule', 'role:reader',
          'Show the template of new groups.'),
    _rule('update_default_security_group_rule', ADMIN,
          'Change a rule of the template.'),
    _rule('delete_default_security_group_rule', ADMIN,
          'Remove a rule from the template.'),
    *[_rule(f'{action}_port:port_security_enabled',
            either(SERVICE, ADMIN_OR_NET_OWNER),
            f"{action.capitalize()} a port's port security: only on the "
            "caller's own network.") for action in ('create', 'update')],
]
