"""The dhcp_agent_scheduler extension: which agents serve which network."""
from __future__ import annotations

import falcon

from kaon import exceptions as exc
from kaon.api import attributes
from kaon.api import validators as v
from kaon.api.context import from_request
from kaon.api.controller import read_json, write_json
from kaon.api.definitions import RESOURCES
from kaon.plugin.core import Plugin


def _network_id(body: object) -> str:
    if not isinstance(body, dict) or 'network_id' not in body:
        raise exc.HTTPBadRequest(msg="Unable to find 'network_id' in "
                                     'request body')
    try:
        return v.uuid_like(body['network_id'])
    except v.Invalid as err:
        raise exc.HTTPBadRequest(msg=f'Invalid input for network_id. '
                                     f'Reason: {err}.') from None


class AgentNetworks:
    """/v2.0/agents/{agent_id}/dhcp-networks"""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        ctx = from_request(req)
        networks = self.plugin.agent_networks(ctx, item_id)
        write_json(resp, {'networks': [attributes.render(
            RESOURCES['networks'], ctx, n) for n in networks]})

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                item_id: str) -> None:
        network_id = _network_id(read_json(req))
        self.plugin.add_network_to_agent(from_request(req), item_id,
                                         network_id)
        write_json(resp, None, falcon.HTTP_201)

    def on_delete_network(self, req: falcon.Request, resp: falcon.Response,
                          item_id: str, network_id: str) -> None:
        self.plugin.remove_network_from_agent(from_request(req), item_id,
                                              network_id)
        resp.status = falcon.HTTP_204


class NetworkAgents:
    """/v2.0/networks/{network_id}/dhcp-agents"""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        ctx = from_request(req)
        write_json(resp, {'agents': [attributes.render(
            RESOURCES['agents'], ctx, a)
            for a in self.plugin.network_agents(ctx, item_id)]})
