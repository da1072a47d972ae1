"""/v2.0/<collection>/<id>/tags: Neutron's standard-attr-tag extension.

Tags go through the plugin's ordinary update, so visibility, ownership,
revision numbers and update events behave as for any other attribute.
"""
from __future__ import annotations

import falcon

from kaon import exceptions as exc
from kaon.api import authz, validators as v
from kaon.api.attributes import Resource
from kaon.api.context import from_request
from kaon.api.controller import read_json, write_json
from kaon.plugin.core import Plugin

_TAG = v.one_line(255, commas=False)


class TagNotFound(exc.NotFound):
    message = 'Tag %(tag)s could not be found.'


def _tag(value: str) -> str:
    try:
        return _TAG(value)
    except v.Invalid as err:
        raise exc.HTTPBadRequest(msg=f'Invalid input for tags. Reason: '
                                     f'{err}.') from None


class Tags:
    def __init__(self, resource: Resource, plugin: Plugin) -> None:
        self.resource = resource
        self.plugin = plugin

    def _current(self, req: falcon.Request, item_id: str) -> list[str]:
        tags: list[str] = authz.get_item(self.plugin, from_request(req),
                                         self.resource, item_id)['tags']
        return tags

    def _replace(self, req: falcon.Request, item_id: str,
                 tags: list[str]) -> list[str]:
        ctx = from_request(req)
        authz.check_update(self.plugin, ctx, self.resource, item_id,
                           {'tags': tags})
        updated: list[str] = self.plugin.update(
            self.resource.name, ctx, item_id, {'tags': tags})['tags']
        return updated

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        write_json(resp, {'tags': self._current(req, item_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               item_id: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or not isinstance(body.get('tags'),
                                                        list):
            raise exc.HTTPBadRequest(msg="Unable to find 'tags' in request "
                                         'body')
        tags = [_tag(t) for t in body['tags']]
        write_json(resp, {'tags': self._replace(req, item_id, tags)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  item_id: str) -> None:
        self._replace(req, item_id, [])
        resp.status = falcon.HTTP_204

    def on_get_tag(self, req: falcon.Request, resp: falcon.Response,
                   item_id: str, tag: str) -> None:
        if tag not in self._current(req, item_id):
            raise TagNotFound(tag=tag)
        resp.status = falcon.HTTP_204

    def on_put_tag(self, req: falcon.Request, resp: falcon.Response,
                   item_id: str, tag: str) -> None:
        tags = self._current(req, item_id)
        if _tag(tag) not in tags:
            self._replace(req, item_id, tags + [tag])
        resp.status = falcon.HTTP_201

    def on_delete_tag(self, req: falcon.Request, resp: falcon.Response,
                      item_id: str, tag: str) -> None:
        tags = self._current(req, item_id)
        if tag not in tags:
            raise TagNotFound(tag=tag)
        self._replace(req, item_id, [t for t in tags if t != tag])
        resp.status = falcon.HTTP_204
