"""One generic controller for every resource defined by an attribute map."""
from __future__ import annotations

import urllib.parse
from typing import Any

import falcon
import orjson

from kaon import exceptions as exc
from kaon.api import attributes, authz, if_match, query
from kaon.api.attributes import Resource
from kaon.api.body import parse_json
from kaon.api.context import from_request
from kaon.conf import CONF
from kaon.plugin.core import Plugin


def read_json(req: falcon.Request) -> dict[str, Any]:
    return parse_json(req.bounded_stream.read(), req.content_type)


def write_json(resp: falcon.Response, body: Any,
               status: str = falcon.HTTP_200) -> None:
    """orjson: a list of 10,000 ports is 6 MB of JSON, and encoding it with
    the standard library took a sixth of the request."""
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(body)


def query_params(req: falcon.Request) -> dict[str, list[str]]:
    """Percent-escapes must decode to UTF-8 (not to U+FFFD, which would
    make an invalid filter match nothing instead of being refused)."""
    try:
        return urllib.parse.parse_qs(req.query_string,
                                     keep_blank_values=True, errors='strict')
    except UnicodeDecodeError:
        raise exc.HTTPBadRequest(msg='The query string is not valid UTF-8') \
            from None


def _if_revision(req: falcon.Request) -> int | None:
    return if_match.revision_constraint(req.get_header('If-Match'))


class Listing:
    """GET (list) on /v2.0/<collection>."""

    def __init__(self, resource: Resource, plugin: Plugin) -> None:
        self.resource = resource
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = from_request(req)
        params = query_params(req)
        hidden = authz.hidden_attributes(ctx, self.resource)
        list_query, fields = query.parse(self.resource, hidden, params)
        items = self.plugin.list(self.resource.name, ctx, list_query)
        body: dict[str, Any] = {self.resource.collection: [
            attributes.render(self.resource, item, fields, hidden)
            for item in authz.visible_items(self.plugin, ctx, self.resource,
                                            items)]}
        page_links = query.links(req.prefix + req.path, params, list_query,
                                 items)
        if page_links:
            body[f'{self.resource.collection}_links'] = page_links
        write_json(resp, body)


class Collection(Listing):
    """Listing plus POST (create, single or bulk)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = from_request(req)
        raw = read_json(req)
        bulk = isinstance(raw, dict) and self.resource.collection in raw
        if bulk and not CONF.allow_bulk:
            raise exc.HTTPBadRequest(msg='Bulk operation not supported')
        items = attributes.prepare_body(self.resource, ctx, raw,
                                        creating=True)
        authz.check_create(self.plugin, ctx, self.resource, items)
        hidden = authz.hidden_attributes(ctx, self.resource)
        created = [attributes.render(self.resource, item, hidden=hidden)
                   for item in self.plugin.create(self.resource.name, ctx,
                                                  items)]
        body = {self.resource.collection: created} if bulk else \
            {self.resource.name: created[0]}
        write_json(resp, body, falcon.HTTP_201)


class Item:
    """GET, PUT and DELETE on /v2.0/<collection>/<id>."""

    def __init__(self, resource: Resource, plugin: Plugin) -> None:
        self.resource = resource
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        ctx = from_request(req)
        item = authz.get_item(self.plugin, ctx, self.resource, item_id)
        fields = query_params(req).get('fields', [])
        write_json(resp, {self.resource.name: attributes.render(
            self.resource, item, fields,
            authz.hidden_attributes(ctx, self.resource))})

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        ctx = from_request(req)
        body = attributes.prepare_body(self.resource, ctx, read_json(req),
                                       creating=False)[0]
        authz.check_update(self.plugin, ctx, self.resource, item_id, body)
        item = self.plugin.update(self.resource.name, ctx, item_id, body,
                                  if_revision=_if_revision(req))
        write_json(resp, {self.resource.name: attributes.render(
            self.resource, item,
            hidden=authz.hidden_attributes(ctx, self.resource))})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  item_id: str) -> None:
        ctx = from_request(req)
        authz.check_delete(self.plugin, ctx, self.resource, item_id)
        self.plugin.delete(self.resource.name, ctx, item_id,
                           if_revision=_if_revision(req))
        resp.status = falcon.HTTP_204
