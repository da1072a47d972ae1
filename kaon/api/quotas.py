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
from kaon.policy import enforcer

# Neutron's quota limit: -1 (unlimited) up to DB_INTEGER_MAX_VALUE.
_LIMIT = v.integer(-1)


def _authorize(req: falcon.Request, action: str, project_id: str = '',
               ) -> Context:
    """Quota rules read the project whose quotas they are; listing every
    project's quotas has no such project, so only the admin passes."""
    ctx = from_request(req)
    target = {'project_id': project_id, 'tenant_id': project_id} \
        if project_id else {}
    enforcer.authorize(ctx, f'{action}_quota', target)
    return ctx


def _changes(body: object) -> tuple[dict[str, int], bool]:
    """The new limits, and whether the admin forces them below usage.

    As Neutron's quotasv2.update: `force` and the deprecated `check_limit`
    are taken out of the body before validation, and only a JSON true
    forces (usage is checked by default since 2025.1)."""
    if not isinstance(body, dict) or not isinstance(body.get('quota'), dict):
        raise exc.HTTPBadRequest(msg="Unable to find 'quota' in request body")
    quota = dict(body['quota'])
    force = quota.pop('force', None) is True
    quota.pop('check_limit', None)
    changes = {}
    for name, value in quota.items():
        if name not in quotas.RESOURCES:
            raise exc.HTTPBadRequest(msg=f"Unrecognized attribute(s) '{name}'")
        try:
            changes[name] = _LIMIT(value)
        except v.Invalid as err:
            raise exc.HTTPBadRequest(
                msg=f'Invalid input for {name}. Reason: {err}.') from None
    return changes, force


class QuotaCollection:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _authorize(req, 'get')
        write_json(resp, {'quotas': self.plugin.list_quotas()})


class QuotaItem:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        if project_id == 'tenant':
            # Neutron's "who am I" for quota clients (GET /quotas/tenant).
            ctx = from_request(req)
            write_json(resp, {'tenant': {'tenant_id': ctx.project_id}})
            return
        _authorize(req, 'get', project_id)
        write_json(resp, {'quota': self.plugin.get_quota(project_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        _authorize(req, 'update', project_id)
        changes, force = _changes(read_json(req))
        write_json(resp, {'quota': self.plugin.update_quota(
            project_id, changes, force=force)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  project_id: str) -> None:
        _authorize(req, 'delete', project_id)
        self.plugin.delete_quota(project_id)
        resp.status = falcon.HTTP_204


class QuotaDefault:
    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        write_json(resp, {'quota': quotas.defaults()})


class QuotaDetails:
    """GET /v2.0/quotas/<project>/details (quota_details): limit, used and
    reserved per resource, readable by whoever may read the quota."""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: str) -> None:
        _authorize(req, 'get', project_id)
        write_json(resp, {'quota': self.plugin.quota_details(project_id)})
