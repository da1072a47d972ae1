"""The request context, from the headers an auth middleware sets.

With `auth_strategy = keystone`, keystonemiddleware's auth_token strips any
identity headers a client sent and sets X-Project-Id, X-User-Id and X-Roles
from the validated token (Keystone has already expanded implied roles:
admin -> member -> reader).  In noauth mode the client may send them itself
to act as a project member; a request without them is the cloud admin's.
"""
from __future__ import annotations

import falcon

from kaon.conf import CONF
from kaon.context import Context
from kaon.policy import enforcer

# Keystone's default implied roles, applied to noauth's hand-written headers
# so that the same policy rules (role:member, role:reader) read them alike.
_IMPLIED = {'admin': ('member', 'reader'), 'member': ('reader',)}


def _with_implied(roles: tuple[str, ...]) -> tuple[str, ...]:
    expanded = list(roles)
    for role in roles:
        expanded += [r for r in _IMPLIED.get(role, ()) if r not in expanded]
    return tuple(expanded)


def _roles(req: falcon.Request) -> tuple[str, ...]:
    return tuple(r.strip().lower() for r in
                 (req.get_header('X-Roles') or '').split(',') if r.strip())


def from_request(req: falcon.Request) -> Context:
    project = req.get_header('X-Project-Id') or req.get_header('X-Tenant-Id')
    request_id = req.env.get('openstack.request_id', '')
    roles = _roles(req)
    if CONF.auth_strategy == 'noauth':
        if not project:
            return Context(project_id=CONF.noauth_project_id,
                           roles=('admin', 'member', 'reader'),
                           is_admin=True, request_id=request_id)
        roles = _with_implied(roles or ('member',))
    return Context(project_id=project or '', roles=roles,
                   is_admin=enforcer.is_admin(roles, project or ''),
                   request_id=request_id,
                   user_id=req.get_header('X-User-Id') or '')
