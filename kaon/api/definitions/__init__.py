"""One module per resource, each an attribute map; RESOURCES indexes them."""
from kaon.api.definitions import (
    agent,
    default_security_group_rule,
    network,
    port,
    rbac_policy,
    security_group,
    security_group_rule,
    subnet,
    subnetpool,
)

RESOURCES = {r.collection: r for r in
             (network.RESOURCE, subnet.RESOURCE, port.RESOURCE,
              agent.RESOURCE, rbac_policy.RESOURCE,
              security_group.RESOURCE, security_group_rule.RESOURCE,
              default_security_group_rule.RESOURCE, subnetpool.RESOURCE)}


def url_path(collection: str) -> str:
    """A collection's URL segment: Neutron hyphenates the name
    (rbac-policies, security-group-rules); bodies keep the underscore."""
    return collection.replace('_', '-')
