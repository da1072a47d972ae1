"""/v2.0/quotas: per-project limits (admins set them, projects read own)."""
from __future__ import annotations

import falcon

from kaon import exceptions as exc
from kaon.api import validators as v
from kaon.api.context import from_request
from kaon.api.controller import read_json, write_json
from kaon.context import Context
from kaon.plugin import quotas
from kaon.plugin.core import Plugin

_LIMIT = v.integer(-1)


def _require_admin(ctx: Context, action: str) -> None:
    if not ctx.is_admin:
        raise exc.PolicyNotAuthorized(action=f'rule:{action}_quota')


def _changes(body: object) -> dict[str, int]:
    if not isinstance(body, dict) or not isinstance(body.get('quota'), dict):
        raise exc.HTTPBadRequest(msg="Unable to find 'quota' in request body")
    changes = {}
    for name, value in body['quota'].items():
        if name not in quotas.RESOURCES:
            raise exc.HTTPBadRequest(msg=f"Unrecognized attribute(s) '{name}'")
        try:
            changes[name] = _LIMIT(value)
        except v.Invalid as err:
            raise exc.HTTPBadRequest(
                msg=f'Invalid input for {name}. Reason: {err}.') from None
    return changes


class QuotaCollection:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _require_admin(from_request(req), 'get')
        write_json(resp, {'quotas': self.plugin.list_quotas()})


class QuotaItem:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        ctx = from_request(req)
        if project_id == 'tenant':
            # Neutron's "who am I" for quota clients (GET /quotas/tenant).
            write_json(resp, {'tenant': {'tenant_id': ctx.project_id}})
            return
        if ctx.project_id != project_id:
            _require_admin(ctx, 'get')
        write_json(resp, {'quota': self.plugin.get_quota(project_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        _require_admin(from_request(req), 'update')
        changes = _changes(read_json(req))
        write_json(resp, {'quota': self.plugin.update_quota(project_id,
                                                            changes)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  project_id: str) -> None:
        _require_admin(from_request(req), 'delete')
        self.plugin.delete_quota(project_id)
        resp.status = falcon.HTTP_204


class QuotaDefault:
    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        write_json(resp, {'quota': quotas.defaults()})
