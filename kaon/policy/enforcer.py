"""Asking oslo.policy: an Enforcer with Neutron's defaults and the
operator's policy.yaml on top, one per app (Policy), not one per process.
The functions at the bottom ask the Policy of the app serving the current
request.

oslo.policy re-reads policy.yaml whenever its modification time changes,
so an edited file takes effect without a restart: here within a second,
as kaon looks for changes at most once a second (see _Enforcer).
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from typing import Any, Iterator

from oslo_config import cfg
from oslo_policy import policy

from kaon import exceptions as exc
from kaon.context import Context
from kaon.policy import defaults

# How stale an edited policy.yaml may be.
RELOAD_INTERVAL = 1.0


# Remembered decisions that depend only on the caller, at most.
MEMO_SIZE = 10_000


class _Enforcer(policy.Enforcer):
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

def get_enforcer(conf: cfg.ConfigOpts | None = None) -> _Enforcer:
    """A new Enforcer with kaon's defaults: oslo.policy's
    `oslo.policy.enforcer` entry point, which its command-line tools
    (oslopolicy-checker, -policy-generator...) load."""
    enforcer = _Enforcer(conf or cfg.CONF)
    enforcer.register_defaults(defaults.list_rules())
    return enforcer


class Policy:
    """One app's access rules: an Enforcer of its own, built on first use
    (after the configuration is loaded), so two apps in one process never
    share rules, reloads or remembered decisions."""

    def __init__(self, conf: cfg.ConfigOpts | None = None) -> None:
        self._conf = conf
        self._enforcer: _Enforcer | None = None
        self._lock = threading.Lock()

    def enforcer(self) -> _Enforcer:
        """Several times per request: no lock once it is built."""
        built = self._enforcer
        if built is not None:
            return built
        with self._lock:
            if self._enforcer is None:
                self._enforcer = get_enforcer(self._conf)
            return self._enforcer

    def reset(self) -> None:
        """Forget the Enforcer, e.g. after the configuration changed."""
        with self._lock:
            self._enforcer = None

    def allowed(self, ctx: Context, action: str,
                target: dict[str, Any]) -> bool:
        return bool(self.enforcer().enforce(action, target,
                                            credentials(ctx)))

    def authorize(self, ctx: Context, action: str,
                  target: dict[str, Any]) -> None:
        """Raise Neutron's PolicyNotAuthorized (403) unless allowed."""
        if not self.allowed(ctx, action, target):
            raise exc.PolicyNotAuthorized(action=action)

    def has_rule(self, action: str) -> bool:
        """Whether a rule exists for the action (attribute rules are
        optional: an attribute without one is governed by its resource's
        rule alone)."""
        return self.enforcer().has(action)

    def allowed_on_own(self, ctx: Context, action: str) -> bool:
        """Whether the caller may do `action` on its own project's things:
        for rules that read only the caller (attribute visibility)."""
        return self.enforcer().about_caller(action, credentials(ctx))

    def is_admin(self, roles: tuple[str, ...], project_id: str) -> bool:
        """The context_is_admin rule decides who is the admin, as in
        Neutron."""
        creds = {'roles': list(roles), 'project_id': project_id,
                 'tenant_id': project_id, 'user_id': ''}
        return self.enforcer().about_caller('context_is_admin', creds)


# The Policy of the app serving the current request, bound by that app
# (kaon.api.app) for the length of the request: the API's handlers are
# given a request context, not the app, and ask the functions below.
_serving: contextvars.ContextVar[Policy] = contextvars.ContextVar('policy')


@contextlib.contextmanager
def serving(policy: Policy) -> Iterator[Policy]:
    """Bind `policy` as the current request's."""
    token = _serving.set(policy)
    try:
        yield policy
    finally:
        _serving.reset(token)


def current() -> Policy:
    """The Policy of the app serving this request."""
    try:
        return _serving.get()
    except LookupError:
        raise RuntimeError('no policy bound: policy is asked while an app '
                           'built by kaon.api.app serves a request') from None


def credentials(ctx: Context) -> dict[str, Any]:
    return {'project_id': ctx.project_id, 'tenant_id': ctx.project_id,
            'user_id': ctx.user_id, 'roles': list(ctx.roles)}


def allowed(ctx: Context, action: str, target: dict[str, Any]) -> bool:
    return current().allowed(ctx, action, target)


def authorize(ctx: Context, action: str, target: dict[str, Any]) -> None:
    """Raise Neutron's PolicyNotAuthorized (403) unless `action` is allowed."""
    current().authorize(ctx, action, target)


def has_rule(action: str) -> bool:
    return current().has_rule(action)


def allowed_on_own(ctx: Context, action: str) -> bool:
    return current().allowed_on_own(ctx, action)


def is_admin(roles: tuple[str, ...], project_id: str) -> bool:
    return current().is_admin(roles, project_id)
