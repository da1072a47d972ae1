"""The rbac-policies resource: who, besides its owner, may use an object.

Neutron's RbacPluginMixin and its validators (rbac_db_mixin.py,
objects/rbac_db.py, db_base_plugin_v2.validate_network_rbac_policy_change),
over one table for every object type.  A type is one entry of
OBJECT_TYPES: its table, how a caller sees it, its valid actions and the
projects whose resources depend on it (the in-use checks).

Every change locks the object's row first, which orders it against the
other policy changes on the object and against `shared` updates, and keeps
the table's `shared` cache (kaon.plugin.rbac) in step.  A change bumps the
object's revision, as Neutron's policies revise their object.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from sqlalchemy import Table, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.context import Context
from kaon.db.models import (
    networks,
    rbac_policies as policies,
    security_groups,
)
from kaon.plugin import (
    common,
    networks as nets,
    quotas,
    rbac,
    security_groups as groups,
)
from kaon.plugin.query import ListQuery, select_page, where_clauses


@dataclasses.dataclass(frozen=True)
class ObjectType:
    table: Table
    # The object's visibility clauses for a caller (its plugin's visible).
    visible: Callable[[Context], list[Any]]
    # The projects with resources on the object (in-use checks).
    users: Callable[[Connection, str], set[str]]
    actions: tuple[str, ...] = (rbac.ACCESS_SHARED,)


OBJECT_TYPES: dict[str, ObjectType] = {
    'network': ObjectType(networks, nets.visible, nets.users),
    groups.OBJECT_TYPE: ObjectType(security_groups, groups.visible,
                                   groups.users),
}


def visible(ctx: Context) -> list[Any]:
    """A project sees the policies it owns, not those naming it."""
    if ctx.is_admin:
        return []
    return [policies.c.project_id == ctx.project_id]


def _by_target(table: Any, values: list[Any]) -> Any:
    return table.c.target_project.in_(values)


SPECIAL_FILTERS = {'target_tenant': _by_target}


def _to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """Neutron's _make_rbac_policy_dict: the target as `target_tenant`."""
    policy = common.to_api(row)
    policy['target_tenant'] = policy.pop('target_project')
    return policy


def list_policies(conn: Connection, ctx: Context,
                  query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(policies, query.filters, SPECIAL_FILTERS)
    rows = select_page(conn, policies, query, clauses + visible(ctx))
    return [_to_dict(dict(row._mapping)) for row in rows]


def _get_row(conn: Connection, ctx: Context, policy_id: str) -> Any:
    return common.visible_row(conn, policies, 'rbac_policy', policy_id,
                              visible(ctx))


def get_policy(conn: Connection, ctx: Context,
               policy_id: str) -> dict[str, Any]:
    return _to_dict(dict(_get_row(conn, ctx, policy_id)._mapping))


def _lock_object(conn: Connection, ctx: Context, object_type: str,
                 object_id: str) -> Any:
    """The object's row, locked: 404 if the caller cannot see it."""
    kind = OBJECT_TYPES[object_type]
    return common.visible_row(conn, kind.table, object_type, object_id,
                              kind.visible(ctx), for_update=True)


def _check_owner(ctx: Context, object_type: str, obj: Any) -> None:
    """Only the object's owner (or an admin) shares it; a project that
    merely sees it through a policy may not (400, as Neutron)."""
    if not ctx.is_admin and obj.project_id != ctx.project_id:
        raise exc.InvalidInput(error_message=(
            f'Only admins can manipulate policies on {object_type}s they '
            'do not own'))


def _check_access_kept(conn: Connection, policy: Any, obj: Any) -> None:
    """409 if taking the policy's target away strands its resources."""
    if policy.action != rbac.ACCESS_SHARED:
        return
    users = OBJECT_TYPES[policy.object_type].users(conn, obj.id)
    if rbac.strands(conn, policy.object_type, obj.id, obj.project_id,
                    policy.target_project, users):
        raise exc.RbacPolicyInUse(
            object_id=obj.id, details=f'project_id={policy.target_project}')


def _changed(conn: Connection, object_type: str, obj: Any) -> None:
    """After a policy change: the `shared` cache, and the object's
    revision (Neutron's revises_on_change)."""
    table = OBJECT_TYPES[object_type].table
    rbac.refresh_cache(conn, table, object_type, obj.id)
    conn.execute(update(table).where(table.c.id == obj.id)
                 .values(**common.bumped(obj)))


def _target(body: dict[str, Any], current: str | None = None) -> str:
    """target_tenant and target_project are one value (Neutron renames
    the first into the second); an update naming neither keeps
    `current`."""
    given: set[str] = {body[k] for k in ('target_tenant', 'target_project')
             if body.get(k) is not None}
    if len(given) > 1:
        raise exc.HTTPBadRequest(
            msg="'target_tenant' and 'target_project' do not match")
    if not given and current is not None:
        return current
    if not given:
        raise exc.HTTPBadRequest(msg='Failed to parse request. Required '
                                     "attribute 'target_tenant' not "
                                     'specified')
    return given.pop()


def create_policies(conn: Connection, ctx: Context,
                    bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    quotas.enforce_bodies(conn, 'rbac_policy', bodies)
    return [_create(conn, ctx, body) for body in bodies]


def _create(conn: Connection, ctx: Context,
            body: dict[str, Any]) -> dict[str, Any]:
    object_type, action = body['object_type'], body['action']
    kind = OBJECT_TYPES[object_type]
    if action not in kind.actions:
        raise exc.InvalidActionForType(action=action, object_type=object_type,
                                       valid_actions=list(kind.actions))
    target = _target(body)
    obj = _lock_object(conn, ctx, object_type, body['object_id'])
    _check_owner(ctx, object_type, obj)
    if rbac.find(conn, object_type, obj.id, target, action) is not None:
        raise exc.DuplicateRbacPolicy()
    values = rbac.add(conn, object_type, obj.id, body['project_id'], target,
                      action)
    _changed(conn, object_type, obj)
    return _to_dict(values)


def update_policy(conn: Connection, ctx: Context, policy_id: str,
                  body: dict[str, Any]) -> None:
    """Only the target changes; 409 if the old one still needs it."""
    policy = _get_row(conn, ctx, policy_id)
    target = _target(body, policy.target_project)
    if target == policy.target_project:
        return
    obj = _lock_object(conn, Context.admin(ctx.project_id),
                       policy.object_type, policy.object_id)
    _check_owner(ctx, policy.object_type, obj)
    if target != rbac.WILDCARD:
        _check_access_kept(conn, policy, obj)
    if rbac.find(conn, policy.object_type, obj.id, target,
                 policy.action) is not None:
        raise exc.DuplicateRbacPolicy()
    conn.execute(update(policies).where(policies.c.id == policy_id)
                 .values(target_project=target))
    _changed(conn, policy.object_type, obj)


def delete_policy(conn: Connection, ctx: Context,
                  policy_id: str) -> dict[str, Any]:
    policy = _get_row(conn, ctx, policy_id)
    obj = _lock_object(conn, Context.admin(ctx.project_id),
                       policy.object_type, policy.object_id)
    _check_access_kept(conn, policy, obj)
    rbac.remove(conn, policy_id)
    _changed(conn, policy.object_type, obj)
    return _to_dict(dict(policy._mapping))
