"""GET /, GET /v2.0/ and the extensions that really work."""
from __future__ import annotations

import falcon

from kaon import exceptions as exc
from kaon.api.controller import write_json
from kaon.api.definitions import RESOURCES, url_path

_UPDATED = '2026-11-23T00:00:00-00:00'
EXTENSIONS = [
    ('agent', 'agent', 'The agent management extension.'),
    ('dhcp_agent_scheduler', 'DHCP Agent Scheduler',
     'Schedule networks among dhcp agents'),
    ('binding', 'Port Binding',
     'Expose port bindings of a virtual port to external application'),
    ('external-net', 'Neutron external network',
     'Adds external network attribute to network resource.'),
    ('extra_dhcp_opt', 'Neutron Extra DHCP options',
     'Extra options configuration for DHCP. For example PXE boot options '
     'to DHCP clients can be specified (e.g. tftp-server, server-ip-address, '
     'bootfile-name)'),
    ('net-mtu', 'Network MTU', 'Provides MTU attribute for a network '
     'resource.'),
    ('net-mtu-writable', 'Network MTU (writable)',
     'Provides a writable MTU attribute for a network resource.'),
    ('pagination', 'Pagination support', 'Extension that indicates that '
     'pagination is enabled.'),
    ('project-id', 'project_id field enabled',
     'Extension that indicates that project_id field is enabled.'),
    ('quotas', 'Quota management support',
     'Expose functions for quotas management per project'),
    ('sorting', 'Sorting support',
     'Extension that indicates that sorting is enabled.'),
    ('filter-validation', 'Filter parameters validation',
     'Provides validation on filter parameters.'),
    ('standard-attr-description', 'standard-attr-description',
     'Extension to add descriptions to standard attributes'),
    ('standard-attr-revisions', 'Resource revision numbers',
     'This extension will display the revision number of neutron '
     'resources.'),
    ('standard-attr-tag', 'Tag support for resources with standard '
     'attribute: subnet, trunk, network_segment_range, router, network, '
     'policy, subnetpool, port, security_group, floatingip',
     'Enables to set tag on resources with standard attribute.'),
    ('tag-ports-during-bulk-creation', 'Tag Ports During Bulk Creation',
     'Allow to tag ports during bulk creation'),
    ('standard-attr-timestamp', 'Resource timestamps',
     'Adds created_at and updated_at fields to all Neutron resources '
     'that have Neutron standard attributes.'),
    ('revision-if-match', 'If-Match constraints based on revision_number',
     "Extension indicating that If-Match based on revision_number is "
     'supported.'),
    ('provider', 'Provider Network', 'Expose mapping of virtual networks to '
     'physical networks'),
    ('rbac-policies', 'RBAC Policies', 'Allows creation and modification of '
     'policies that control project access to resources.'),
    ('allowed-address-pairs', 'Allowed Address Pairs',
     'Provides allowed address pairs'),
    ('security-group', 'security-group', 'The security groups extension.'),
    ('security-groups-default-rules', 'Default rules for security groups',
     'Configure set of security group rules used as default rules for '
     'every new security group'),
    ('security-groups-normalized-cidr',
     'Normalized CIDR field for security group rules',
     'Add new field with normalized remote_ip_prefix cidr in SG rule'),
    ('security-groups-rules-belongs-to-default-sg',
     'Security group rule belongs to the project\'s default security group',
     'Flag to determine if the security group rule belongs to the '
     'project\'s default security group'),
    ('stateful-security-group', 'Stateful security group',
     'Indicates if the security group is stateful or not'),
    ('port-security', 'Port Security', 'Provides port security'),
    ('quota_details', 'Quota details management support',
     'Expose functions for quotas usage statistics per project'),
    ('quota-check-limit-default', 'Quota engine limit check by default',
     'By default, the Neutron quota engine checks the resource usage '
     'before applying a new quota limit'),
    ('ip-substring-filtering', 'IP address substring filtering',
     'Provides IP address substring filtering when listing ports'),
    ('port-mac-address-regenerate', 'Neutron Port MAC address regenerate',
     'Network port MAC address regenerate'),
    ('subnet_allocation', 'Subnet Allocation',
     'Enables allocation of subnets from a subnet pool'),
    ('subnet-service-types', 'Subnet service types',
     'Provides ability to set the subnet service_types field'),
    ('rbac-security-groups', 'Add security_group type to network RBAC',
     'Add security_group type to network RBAC'),
    ('security-groups-shared-filtering',
     'Security group filtering on the shared field',
     'Support filtering security groups on the shared field'),
]


def _extension(alias: str, name: str,
               description: str) -> dict[str, object]:
    return {'alias': alias, 'name': name, 'description': description,
            'updated': _UPDATED, 'links': []}


class Versions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        write_json(resp, {'versions': [{
            'id': 'v2.0', 'status': 'CURRENT',
            'links': [{'href': f'{req.prefix}/v2.0/', 'rel': 'self'}]}]})


class V2Root:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        write_json(resp, {'resources': [
            {'name': r.name, 'collection': r.collection,
             'links': [{'href': f'{req.prefix}/v2.0/{url_path(r.collection)}',
                        'rel': 'self'}]}
            for r in RESOURCES.values()]})


class Extensions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        write_json(resp, {'extensions': [_extension(*e)
                                         for e in EXTENSIONS]})


class Extension:
    def on_get(self, req: falcon.Request, resp: falcon.Response,
               alias: str) -> None:
        for ext in EXTENSIONS:
            if ext[0] == alias:
                write_json(resp, {'extension': _extension(*ext)})
                return
        raise exc.ResourceNotFound()
