"""The request context, from the headers an auth middleware sets.

keystonemiddleware's auth_token sets X-Project-Id and X-Roles; in noauth
mode a client may send them itself to act as a project member, and a
request without them is the cloud admin's.
"""
from __future__ import annotations

import falcon

from kaon.conf import CONF
from kaon.context import Context


def from_request(req: falcon.Request) -> Context:
    project = req.get_header('X-Project-Id') or req.get_header('X-Tenant-Id')
    request_id = req.env.get('openstack.request_id', '')
    if not project:
        return Context(project_id=CONF.noauth_project_id, roles=('admin',),
                       is_admin=True, request_id=request_id)
    roles = tuple(r.strip().lower() for r in
                  (req.get_header('X-Roles') or '').split(',') if r.strip())
    return Context(project_id=project, roles=roles,
                   is_admin='admin' in roles, request_id=request_id)
