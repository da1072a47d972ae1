"""One module per resource, each an attribute map; RESOURCES indexes them."""
from kaon.api.definitions import agent, network, port, rbac_policy, subnet

RESOURCES = {r.collection: r for r in
             (network.RESOURCE, subnet.RESOURCE, port.RESOURCE,
              agent.RESOURCE, rbac_policy.RESOURCE)}
