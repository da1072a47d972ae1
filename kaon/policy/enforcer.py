"""Asking oslo.policy: one Enforcer with Neutron's defaults and the
operator's policy.yaml on top.

oslo.policy re-reads policy.yaml whenever its modification time changes,
so an edited file takes effect without a restart: here within a second,
as kaon looks for changes at most once a second (see _Enforcer).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from kaon import exceptions as exc
from kaon.context import Context
from kaon.policy import defaults

# How stale an edited policy.yaml may be.
RELOAD_INTERVAL = 1.0
_lock = threading.Lock()


# Remembered decisions that depend only on the caller, at most.
MEMO_SIZE = 10_000


class _Enforcer(policy.Enforcer):  # type: ignore[misc]
    """oslo.policy's Enforcer, cheaper per request.

    Its own look for a changed policy file runs before every check and
    searches the configuration directories each time (about 0.3 ms, several
    times per request: a port create went from 4.6 ms to 16 ms); here it
    runs at most once per RELOAD_INTERVAL.  And decisions that read nothing
    but the caller (is it the admin, may it see binding:host_id) are
    remembered per roles and project until the rules are looked at again:
    oslo.policy spends ~0.1 ms on every rule, most of it inspecting each
    check's signature.

    oslo.policy fills its rules in place (on the first load, and emptied
    and refilled on a reload), so a check in another thread meanwhile would
    find no rule and refuse: every use of the rules holds one lock.  Seen
    as a stray 403 for the admin when 16 clients hit freshly started API
    workers at once."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._next_look = 0.0
        self._memo: dict[tuple[str, tuple[str, ...], str], bool] = {}
        self._guard = threading.RLock()

    def load_rules(self, force_reload: bool = False) -> None:
        with self._guard:
            now = time.monotonic()
            if force_reload or now >= self._next_look:
                self._next_look = now + RELOAD_INTERVAL
                super().load_rules(force_reload)
                self._memo = {}

    def enforce(self, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return super().enforce(*args, **kwargs)

    def has(self, action: str) -> bool:
        with self._guard:
            self.load_rules()
            return action in self.rules

    def about_caller(self, action: str, creds: dict[str, Any]) -> bool:
        """The action on the caller's own project, remembered."""
        with self._guard:
            self.load_rules()
            key = (action, tuple(creds['roles']), creds['project_id'])
            if key not in self._memo:
                if len(self._memo) >= MEMO_SIZE:
                    self._memo.clear()
                own = {'project_id': creds['project_id'],
                       'tenant_id': creds['project_id']}
                self._memo[key] = bool(self.enforce(action, own, creds))
            return self._memo[key]

_enforcer: policy.Enforcer | None = None


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> policy.Enforcer:
    """The process's Enforcer (also oslo.policy's `oslo.policy.enforcer`
    entry point, which its command-line tools load)."""
    global _enforcer
    with _lock:
        if _enforcer is None:
            enforcer = _Enforcer(conf or cfg.CONF)
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
    return get_enforcer().has(action)


def allowed_on_own(ctx: Context, action: str) -> bool:
    """Whether the caller may do `action` on its own project's things:
    for rules that read only the caller (attribute visibility)."""
    return get_enforcer().about_caller(action, credentials(ctx))


def is_admin(roles: tuple[str, ...], project_id: str) -> bool:
    """The context_is_admin rule decides who is the admin, as in Neutron."""
    creds = {'roles': list(roles), 'project_id': project_id,
             'tenant_id': project_id, 'user_id': ''}
    return get_enforcer().about_caller('context_is_admin', creds)
