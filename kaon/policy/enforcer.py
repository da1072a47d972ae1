"""Asking oslo.policy: one Enforcer with Neutron's defaults and the
operator's policy.yaml on top.

oslo.policy re-reads policy.yaml whenever its modification time changes,
so an edited file takes effect on the next request without a restart.
"""
from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from kaon import exceptions as exc
from kaon.context import Context
from kaon.policy import defaults

_lock = threading.Lock()
_enforcer: policy.Enforcer | None = None


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> policy.Enforcer:
    """The process's Enforcer (also oslo.policy's `oslo.policy.enforcer`
    entry point, which its command-line tools load)."""
    global _enforcer
    with _lock:
        if _enforcer is None:
            enforcer = policy.Enforcer(conf or cfg.CONF)
            enforcer.register_defaults(defaults.list_rules())
            _enforcer = enforcer
        return _enforcer


def reset() -> None:
    """Forget the Enforcer, e.g. after the configuration changed."""
    global _enforcer
    with _lock:
        _enforcer = None


def credentials(ctx: Context) -> dict[str, Any]:
    return {'project_id': ctx.project_id, 'tenant_id': ctx.project_id,
            'user_id': ctx.user_id, 'roles': list(ctx.roles)}


def allowed(ctx: Context, action: str, target: dict[str, Any]) -> bool:
    return bool(get_enforcer().enforce(action, target, credentials(ctx)))


def authorize(ctx: Context, action: str, target: dict[str, Any]) -> None:
    """Raise Neutron's PolicyNotAuthorized (403) unless `action` is allowed."""
    if not allowed(ctx, action, target):
        raise exc.PolicyNotAuthorized(action=action)


def has_rule(action: str) -> bool:
    """Whether a rule exists for the action (attribute rules are optional:
    an attribute without one is governed by its resource's rule alone)."""
    enforcer = get_enforcer()
    enforcer.load_rules()
    return action in enforcer.rules


def is_admin(roles: tuple[str, ...], project_id: str) -> bool:
    """The context_is_admin rule decides who is the admin, as in Neutron."""
    creds = {'roles': list(roles), 'project_id': project_id,
             'tenant_id': project_id}
    return bool(get_enforcer().enforce('context_is_admin', {}, creds))
