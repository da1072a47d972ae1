"""One module per resource, each an attribute map; RESOURCES indexes them."""
from kaon.api.definitions import (
    agent,
    default_security_group_rule,
    network,
    port,
    security_group,
    security_group_rule,
    subnet,
)

RESOURCES = {r.collection: r for r in
             (network.RESOURCE, subnet.RESOURCE, port.RESOURCE,
              agent.RESOURCE,
              security_group.RESOURCE, security_group_rule.RESOURCE,
              default_security_group_rule.RESOURCE)}
