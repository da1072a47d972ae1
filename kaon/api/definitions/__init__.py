"""One module per resource, each an attribute map; RESOURCES indexes them."""
from kaon.api.definitions import agent, network, port, subnet, subnetpool

RESOURCES = {r.collection: r for r in
             (network.RESOURCE, subnet.RESOURCE, port.RESOURCE,
              agent.RESOURCE, subnetpool.RESOURCE)}
