"""Neutron's default access rules for the resources kaon serves.

The names and check strings follow Neutron's (project-scoped personas:
admin, project member, project reader, the `service` role nova uses), so an
operator's Neutron policy.yaml overrides carry over.  A resource's rule
(`create_port`) decides the call; an attribute's rule (`create_port:
mac_address`) is checked only when a request sets that attribute, and a
`get_<resource>:<attribute>` rule hides the attribute from whoever fails it.
"""
from __future__ import annotations

from oslo_policy import policy

from kaon.policy.checks import FieldCheck

# A RuleDefault parses its check string when it is built, so Neutron's
# `field:` check must be registered (by importing it) before the rules below.
CUSTOM_CHECKS = (FieldCheck,)
ADMIN = 'rule:context_is_admin'
ADMIN_OR_MEMBER = 'rule:admin_or_project_member'
ADMIN_OR_READER = 'rule:admin_or_project_reader'
ADMIN_OR_NET_OWNER = 'rule:admin_or_network_owner_member'
SERVICE = 'rule:service_api'


def either(*checks: str) -> str:
    return ' or '.join(checks)


def _rule(name: str, check: str, description: str) -> policy.RuleDefault:
    return policy.RuleDefault(name, check, description=description)


BASE = [
    _rule('context_is_admin', 'role:admin', 'The cloud admin.'),
    _rule('service_api', 'role:service',
          'Services such as nova, acting for their users.'),
    _rule('context_is_advsvc', 'role:advsvc',
          'Advanced services that manage ports in any project.'),
    _rule('admin_only', ADMIN, 'Admins only.'),
    _rule('regular_user', '', 'Anybody authenticated.'),
    _rule('owner', 'project_id:%(project_id)s',
          'The project that owns the resource.'),
    _rule('admin_or_owner', either(ADMIN, 'rule:owner'),
          'The admin or the owning project, whatever its role.'),
    _rule('project_member', 'role:member and project_id:%(project_id)s',
          'A member of the owning project.'),
    _rule('project_reader', 'role:reader and project_id:%(project_id)s',
          'A reader (members and admins imply it) of the owning project.'),
    _rule('admin_or_project_member', either(ADMIN, 'rule:project_member'),
          'The admin or a member of the owning project.'),
    _rule('admin_or_project_reader', either(ADMIN, 'rule:project_reader'),
          'The admin or a reader of the owning project.'),
    _rule('network_owner', 'project_id:%(network:project_id)s',
          "The project that owns the resource's network."),
    _rule('admin_or_network_owner_member', either(
        ADMIN, '(role:member and project_id:%(network:project_id)s)'),
        "The admin or a member of the project owning the resource's "
        'network.'),
    _rule('shared', 'field:networks:shared=True',
          'The network (or the resource\'s network) is shared.'),
    _rule('external', 'field:networks:router:external=True',
          'The network (or the resource\'s network) is external.'),
    _rule('network_device', 'field:port:device_owner=~^network:',
          'The port belongs to network infrastructure (DHCP, routers).'),
    _rule('default', 'rule:admin_or_owner',
          'Any action without a rule of its own.'),
]

NETWORKS = [
    _rule('create_network', ADMIN_OR_MEMBER, 'Create a network.'),
    _rule('create_network:shared', ADMIN, 'Create a shared network.'),
    _rule('create_network:router:external', ADMIN,
          'Create an external network.'),
    _rule('get_network', either(ADMIN_OR_READER, 'rule:shared',
                                'rule:external', 'rule:context_is_advsvc'),
          'Show a network; shared and external ones are readable by all.'),
    _rule('update_network', ADMIN_OR_MEMBER, 'Update a network.'),
    _rule('update_network:shared', ADMIN, 'Share or unshare a network.'),
    _rule('update_network:router:external', ADMIN,
          'Make a network external or not.'),
    _rule('delete_network', ADMIN_OR_MEMBER, 'Delete a network.'),
    *[_rule(f'{action}_network:provider:{name}', ADMIN,
            f"{action.capitalize()} a network's provider:{name}.")
      for action in ('create', 'update', 'get')
      for name in ('network_type', 'physical_network', 'segmentation_id')],
]

SUBNETS = [
    _rule('create_subnet', ADMIN_OR_NET_OWNER,
          "Create a subnet: only on the caller's own network."),
    _rule('get_subnet', either(ADMIN_OR_READER, 'rule:shared'),
          'Show a subnet; subnets of shared networks are readable by all.'),
    _rule('update_subnet', ADMIN_OR_NET_OWNER, 'Update a subnet.'),
    _rule('delete_subnet', ADMIN_OR_NET_OWNER, 'Delete a subnet.'),
]

_PORT_PICKER = either('rule:context_is_advsvc', SERVICE, ADMIN_OR_NET_OWNER)
_NOT_INFRA = either('not rule:network_device', _PORT_PICKER)


def _port_rules(action: str, verb: str) -> list[policy.RuleDefault]:
    """The attribute rules create_port and update_port share."""
    return [
        _rule(f'{action}_port:device_owner', _NOT_INFRA,
              f'{verb} a port with a network:* device_owner: only on the '
              "caller's own network."),
        _rule(f'{action}_port:fixed_ips:ip_address', _PORT_PICKER,
              f"{verb} a port with a chosen IP address: only on the "
              "caller's own network."),
        _rule(f'{action}_port:fixed_ips:subnet_id',
              either(_PORT_PICKER, 'rule:shared'),
              f'{verb} a port on a chosen subnet: own or shared networks.'),
        _rule(f'{action}_port:binding:host_id', either(ADMIN, SERVICE),
              f"{verb} a port's binding host."),
    ] + [
        _rule(f'{action}_port:allowed_address_pairs{key}',
              either(ADMIN_OR_NET_OWNER, SERVICE),
              f"{verb} a port with allowed address pairs{what}: only on "
              "the caller's own network.")
        for key, what in (('', ''), (':mac_address', ' naming a MAC'),
                          (':ip_address', ' naming an IP'))
    ]


PORTS = [
    _rule('create_port', either(ADMIN_OR_MEMBER, SERVICE,
                                'rule:context_is_advsvc'), 'Create a port.'),
    _rule('create_port:mac_address', _PORT_PICKER,
          "Create a port with a chosen MAC: only on the caller's own "
          'network.'),
    *_port_rules('create', 'Create'),
    _rule('get_port', either(
        ADMIN_OR_READER, SERVICE, 'rule:context_is_advsvc',
        '(role:reader and project_id:%(network:project_id)s)'),
        'Show a port: its project and the owner of its network may.'),
    _rule('get_port:binding:host_id', either(ADMIN, SERVICE),
          "See a port's binding host."),
    *[_rule(f'get_port:binding:{name}', either(ADMIN, SERVICE),
            f"See a port's binding:{name}.")
      for name in ('vif_type', 'vif_details', 'profile')],
    _rule('update_port', either(ADMIN_OR_MEMBER, SERVICE,
                                'rule:context_is_advsvc'), 'Update a port.'),
    _rule('update_port:mac_address', either(ADMIN, SERVICE,
                                             'rule:context_is_advsvc'),
          "Change a port's MAC."),
    *_port_rules('update', 'Update'),
    _rule('delete_port', either(ADMIN_OR_MEMBER, SERVICE,
                                'rule:context_is_advsvc', ADMIN_OR_NET_OWNER),
          "Delete a port: its project or its network's owner may."),
]

AGENTS = [
    _rule(f'{verb}_agent', ADMIN, f'{verb.capitalize()} an agent.')
    for verb in ('get', 'update', 'delete')
] + [
    _rule('create_dhcp-network', ADMIN,
          'Schedule a network to a DHCP agent.'),
    _rule('get_dhcp-networks', ADMIN, 'List the networks a DHCP agent '
          'hosts.'),
    _rule('delete_dhcp-network', ADMIN,
          'Remove a network from a DHCP agent.'),
    _rule('get_dhcp-agents', ADMIN, 'List the DHCP agents of a network.'),
]

# Neutron's rbac.py: a project shares what it owns with named projects;
# only the admin shares with everyone ('*').
_NO_WILDCARD = ('(not field:rbac_policy:target_tenant=* and '
                'not field:rbac_policy:target_project=*)')


def _rbac_target_rules(action: str, verb: str) -> list[policy.RuleDefault]:
    return [
        _rule(f'{action}_rbac_policy:target_tenant',
              either(ADMIN, _NO_WILDCARD),
              f"{verb} an RBAC policy's target: '*' is the admin's."),
        _rule(f'{action}_rbac_policy:target_project',
              either(ADMIN, 'not field:rbac_policy:target_project=*'),
              f"{verb} an RBAC policy's target: '*' is the admin's."),
    ]


RBAC = [
    _rule('restrict_wildcard', either(_NO_WILDCARD, 'rule:admin_only'),
          "A target of '*' is the admin's."),
    _rule('create_rbac_policy', ADMIN_OR_MEMBER, 'Create an RBAC policy.'),
    *_rbac_target_rules('create', 'Create'),
    _rule('update_rbac_policy', ADMIN_OR_MEMBER, 'Update an RBAC policy.'),
    *_rbac_target_rules('update', 'Update'),
    _rule('get_rbac_policy', ADMIN_OR_READER, 'Show an RBAC policy.'),
    _rule('delete_rbac_policy', ADMIN_OR_MEMBER, 'Delete an RBAC policy.'),
]

QUOTAS = [
    _rule('get_quota', either(ADMIN, 'rule:project_reader'),
          "See a project's quotas: the admin, or the project itself."),
    _rule('update_quota', ADMIN, "Change a project's quotas."),
    _rule('delete_quota', ADMIN, "Reset a project's quotas."),
]

SUBNETPOOLS = [
    _rule('shared_subnetpools', 'field:subnetpools:shared=True',
          'The subnet pool is shared.'),
    _rule('create_subnetpool', ADMIN_OR_MEMBER, 'Create a subnet pool.'),
    _rule('create_subnetpool:shared', ADMIN, 'Create a shared subnet pool.'),
    _rule('create_subnetpool:is_default', ADMIN,
          'Make a subnet pool the default of its IP version.'),
    _rule('get_subnetpool', either(ADMIN_OR_READER,
                                   'rule:shared_subnetpools'),
          'Show a subnet pool; shared ones are readable by all.'),
    _rule('update_subnetpool', ADMIN_OR_MEMBER, 'Update a subnet pool.'),
    _rule('update_subnetpool:is_default', ADMIN,
          'Make a subnet pool the default of its IP version or not.'),
    _rule('delete_subnetpool', ADMIN_OR_MEMBER, 'Delete a subnet pool.'),
]


# Security groups, their rules and the default-rules template
# (neutron/conf/policies/security_group.py, default_security_group_rules.py).
# As Neutron's sg_owner: the owner of a group sees and deletes every rule in
# it, one an admin put there too (kaon.api.authz adds the group's owner to
# a rule's target as `security_group:project_id`).
SECURITY_GROUPS = [
    _rule('shared_security_group', 'field:security_groups:shared=True',
          "The security group is shared with the caller's project (an "
          "RBAC policy naming it or '*')."),
    _rule('create_security_group', ADMIN_OR_MEMBER, 'Create a group.'),
    _rule('get_security_group', either(ADMIN_OR_READER,
                                       'rule:shared_security_group'),
          'Show a group; shared ones are readable by all.'),
    _rule('update_security_group', ADMIN_OR_MEMBER, 'Update a group.'),
    _rule('delete_security_group', ADMIN_OR_MEMBER, 'Delete a group.'),
    _rule('create_security_group_rule', ADMIN_OR_MEMBER,
          "Add a rule to one of the project's groups."),
    _rule('sg_owner', 'project_id:%(security_group:project_id)s',
          "The caller's project owns the rule's group."),
    _rule('get_security_group_rule', either(ADMIN_OR_READER,
                                            'rule:sg_owner'),
          'Show a rule: its own project, or the owner of its group.'),
    _rule('delete_security_group_rule', either(ADMIN_OR_MEMBER,
                                               'rule:sg_owner'),
          'Delete a rule: its own project, or the owner of its group.'),
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


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule: the oslo.policy.policies entry point."""
    return BASE + NETWORKS + SUBNETS + PORTS + AGENTS + QUOTAS + RBAC + \
        SECURITY_GROUPS + SUBNETPOOLS
