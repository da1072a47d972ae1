"""The dhcp_agent_scheduler extension: which agents serve which network."""
from __future__ import annotations

import falcon

from kaon import exceptions as exc
from kaon.api import attributes, validators as v
from kaon.api.context import from_request
from kaon.api.controller import read_json, write_json
from kaon.api.definitions import RESOURCES
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.policy import enforcer


def _authorize(req: falcon.Request, action: str) -> Context:
    """The scheduler extension is the admin's (Neutron's admin_only rules)."""
    ctx = from_request(req)
    enforcer.authorize(ctx, action, {})
    return ctx


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
        ctx = _authorize(req, 'get_dhcp-networks')
        networks = self.plugin.agent_networks(ctx, item_id)
        write_json(resp, {'networks': [attributes.render(
            RESOURCES['networks'], n) for n in networks]})

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                item_id: str) -> None:
        ctx = _authorize(req, 'create_dhcp-network')
        network_id = _network_id(read_json(req))
        self.plugin.add_network_to_agent(ctx, item_id, network_id)
        write_json(resp, None, falcon.HTTP_201)

    def on_delete_network(self, req: falcon.Request, resp: falcon.Response,
                          item_id: str, network_id: str) -> None:
        self.plugin.remove_network_from_agent(
            _authorize(req, 'delete_dhcp-network'), item_id, network_id)
        resp.status = falcon.HTTP_204


class NetworkAgents:
    """/v2.0/networks/{network_id}/dhcp-agents"""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        ctx = _authorize(req, 'get_dhcp-agents')
        write_json(resp, {'agents': [attributes.render(
            RESOURCES['agents'], a)
            for a in self.plugin.network_agents(ctx, item_id)]})
