"""The WSGI application: Neutron's middleware in front of a Falcon app."""
from __future__ import annotations

from typing import Iterable, cast
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import falcon
from oslo_middleware import request_id

from kaon.api import dhcp_agents, faults, quotas, tags, versions
from kaon.api.controller import Collection, Item, Listing
from kaon.api.definitions import RESOURCES, url_path
from kaon.conf import CONF
from kaon.plugin.core import Plugin
from kaon.policy import enforcer


def build_api(plugin: Plugin) -> falcon.App[falcon.Request, falcon.Response]:
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    faults.install(app)
    app.add_route('/', versions.Versions())
    app.add_route('/v2.0', versions.V2Root())
    app.add_route('/v2.0/extensions', versions.Extensions())
    app.add_route('/v2.0/extensions/{alias}', versions.Extension())
    for resource in RESOURCES.values():
        base = f'/v2.0/{url_path(resource.collection)}'
        listing = Collection if resource.creatable else Listing
        app.add_route(base, listing(resource, plugin))
        app.add_route(base + '/{item_id}', Item(resource, plugin))
        if 'tags' in resource.attributes:
            tag_routes = tags.Tags(resource, plugin)
            app.add_route(base + '/{item_id}/tags', tag_routes)
            app.add_route(base + '/{item_id}/tags/{tag}', tag_routes,
                          suffix='tag')
    agent_networks = dhcp_agents.AgentNetworks(plugin)
    app.add_route('/v2.0/agents/{item_id}/dhcp-networks', agent_networks)
    app.add_route('/v2.0/agents/{item_id}/dhcp-networks/{network_id}',
                  agent_networks, suffix='network')
    app.add_route('/v2.0/networks/{item_id}/dhcp-agents',
                  dhcp_agents.NetworkAgents(plugin))
    app.add_route('/v2.0/quotas', quotas.QuotaCollection(plugin))
    app.add_route('/v2.0/quotas/{project_id}', quotas.QuotaItem(plugin))
    app.add_route('/v2.0/quotas/{project_id}/default', quotas.QuotaDefault())
    app.add_route('/v2.0/quotas/{project_id}/details',
                  quotas.QuotaDetails(plugin))
    return app


def _behind_keystone(app: WSGIApplication) -> WSGIApplication:
    """auth_token in front of everything but the version document at `/`,
    which Neutron serves unauthenticated (clients discover versions first).
    auth_token reads [keystone_authtoken] from kaon's own configuration."""
    from keystonemiddleware import auth_token
    protected = auth_token.AuthProtocol(app, {'oslo_config_config': CONF})

    def dispatch(environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        if environ.get('PATH_INFO', '/') in ('', '/'):
            return app(environ, start_response)
        return cast(Iterable[bytes], protected(environ, start_response))
    return dispatch


def _with_policy(app: WSGIApplication,
                 policy: enforcer.Policy) -> WSGIApplication:
    """Bind the app's own Policy while it handles a request (the handlers
    ask kaon.policy.enforcer, which answers with the serving app's)."""
    def bound(environ: WSGIEnvironment,
              start_response: StartResponse) -> Iterable[bytes]:
        with enforcer.serving(policy):
            return app(environ, start_response)
    return bound


def build_wsgi(plugin: Plugin,
               policy: enforcer.Policy | None = None) -> WSGIApplication:
    """Neutron's api-paste.ini pipeline: request_id -> (auth_token, with
    auth_strategy = keystone) -> API.  Its sizelimit step
    ([oslo_middleware] max_request_body_size) is held by the HTTP front,
    which must bound what it buffers anyway, and counts chunked bodies too.
    The app owns its Policy (by default a new one on kaon's CONF)."""
    app: WSGIApplication = _with_policy(build_api(plugin),
                                        policy or enforcer.Policy(CONF))
    if CONF.auth_strategy == 'keystone':
        app = _behind_keystone(app)
    return cast(WSGIApplication, request_id.RequestId(app))
