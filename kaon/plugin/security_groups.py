"""Security groups: rows, the per-project `default` group, and the rules
for renaming, changing and deleting them (Neutron's SecurityGroupDbMixin).

The default group: one per project, made on the project's first use
(its first list of groups or rules, its first group, network or port), with
the rules of the default-rules template.  ensure_default() checks, then
takes a lock named after the project (kaon.db.locks) and checks again, so
two first requests create one group; the default_security_group table's
primary key (the project) makes a second one impossible regardless.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.context import Context
from kaon.db import locks
from kaon.db.models import (
    default_security_groups,
    ports,
    security_group_port_bindings,
    security_group_rules,
    security_groups,
)
from kaon.plugin import common, quotas, rbac, sg_rules
from kaon.plugin.query import ListQuery, select_page, where_clauses

DEFAULT_NAME = 'default'
DEFAULT_DESCRIPTION = 'Default security group'
OBJECT_TYPE = 'security_group'


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own groups and those an RBAC policy shares
    with them ('*' or their project)."""
    if ctx.is_admin:
        return []
    return [or_(security_groups.c.project_id == ctx.project_id,
                rbac.shared_for(security_groups, OBJECT_TYPE,
                                ctx.project_id))]


def shared(conn: Connection, project_id: str,
           group_ids: list[str]) -> set[str]:
    """The groups among `group_ids` shared with the project by a policy
    ('*' or the project): Neutron's `shared` of a group, as that project
    sees it; _by_shared is its filter."""
    return set(conn.execute(select(security_groups.c.id).where(
        security_groups.c.id.in_(group_ids),
        rbac.shared_for(security_groups, OBJECT_TYPE, project_id))
    ).scalars())


def _by_shared(ctx: Context) -> Any:
    """?shared=...: shared with the caller's project, as `shared` shows."""
    def clause(table: Any, values: list[Any]) -> Any:
        return rbac.matching(
            rbac.shared_for(table, OBJECT_TYPE, ctx.project_id), values)
    return clause


def list_security_groups(conn: Connection, ctx: Context,
                         query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(security_groups, query.filters,
                            {'shared': _by_shared(ctx)})
    rows = select_page(conn, security_groups, query, clauses + visible(ctx))
    return _to_dicts(conn, ctx, rows)


def users(conn: Connection, group_id: str) -> set[str]:
    """The projects whose ports use the group: those that lose their
    footing if it stops being shared with them (Neutron's
    SecurityGroupRBAC in-use check)."""
    return set(conn.execute(select(ports.c.project_id).join(
        security_group_port_bindings,
        security_group_port_bindings.c.port_id == ports.c.id).where(
        security_group_port_bindings.c.security_group_id == group_id)
    ).scalars())


def _to_dicts(conn: Connection, ctx: Context,
              rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    rules = common.rows_by(conn, security_group_rules, 'security_group_id',
                           ids, security_group_rules.c.created_at,
                           security_group_rules.c.id)
    defaults = sg_rules.default_groups(conn, ids)
    tags = common.load_tags(conn, ids)
    shared_ids = shared(conn, ctx.project_id, ids)
    result = []
    for row in rows:
        group = common.row_to_dict(row)
        group['security_group_rules'] = sg_rules.rows_to_dicts(
            rules[row.id], defaults)
        group['tags'] = tags[row.id]
        group['shared'] = row.id in shared_ids
        result.append(group)
    return result


def get_row(conn: Connection, ctx: Context, group_id: str) -> Any:
    return common.visible_row(conn, security_groups, 'security_group',
                              group_id, visible(ctx))


def get_security_group(conn: Connection, ctx: Context,
                       group_id: str) -> dict[str, Any]:
    return _to_dicts(conn, ctx, [get_row(conn, ctx, group_id)])[0]


def default_group_id(conn: Connection, project_id: str) -> str | None:
    return conn.execute(select(default_security_groups.c.security_group_id)
                        .where(default_security_groups.c.project_id ==
                               project_id)).scalar()


def ensure_default(conn: Connection, project_id: str) -> str:
    """The project's default group, created if it has none yet (inside
    the caller's write transaction)."""
    existing = default_group_id(conn, project_id)
    if existing is not None:
        return existing
    locks.hold(conn, f'default-security-group:{project_id}')
    existing = default_group_id(conn, project_id)
    if existing is not None:
        return existing
    group_id = _insert(conn, {'project_id': project_id,
                              'name': DEFAULT_NAME,
                              'description': DEFAULT_DESCRIPTION},
                       is_default=True)
    conn.execute(insert(default_security_groups).values(
        project_id=project_id, security_group_id=group_id))
    return group_id


def ensure_defaults(conn: Connection, ctx: Context,
                    projects: Iterable[str]) -> None:
    """Neutron's _ensure_default_security_group for the projects a request
    acts in: a non-admin only ever for its own project."""
    for project in sorted(set(projects)):
        if project == ctx.project_id or ctx.is_admin:
            ensure_default(conn, project)


def _insert(conn: Connection, body: dict[str, Any], is_default: bool) -> str:
    values = common.column_values(security_groups, body)
    values.update(id=common.new_id(), **common.standard_attrs(body))
    conn.execute(insert(security_groups), common.with_defaults(
        security_groups, values))
    sg_rules.copy_template(conn, values['id'], values['project_id'],
                           is_default)
    return str(values['id'])


def check_name(body: dict[str, Any]) -> None:
    """Neutron's name_not_default: only kaon itself names a group
    'default' (one per project, made on first use)."""
    if str(body.get('name', '')).lower() == DEFAULT_NAME:
        raise exc.SecurityGroupDefaultAlreadyExists()


def create_security_groups(conn: Connection, ctx: Context,
                           bodies: list[dict[str, Any]]
                           ) -> list[dict[str, Any]]:
    for body in bodies:
        check_name(body)
    ensure_defaults(conn, ctx, (b['project_id'] for b in bodies))
    quotas.enforce_bodies(conn, 'security_group', bodies)
    ids = []
    for body in bodies:
        group_id = _insert(conn, body, is_default=False)
        common.set_tags(conn, group_id, body.get('tags', ()), new=True)
        ids.append(group_id)
    return _to_dicts(conn, ctx,
                     [get_row(conn, Context.admin(), i) for i in ids])


def _in_use(conn: Connection, group_id: str) -> bool:
    return conn.execute(select(security_group_port_bindings.c.port_id).where(
        security_group_port_bindings.c.security_group_id == group_id)
    ).first() is not None


def update_security_group(conn: Connection, ctx: Context, group_id: str,
                          body: dict[str, Any]) -> dict[str, Any]:
    """Apply an update; returns the group as it was."""
    row = get_row(conn, ctx, group_id)
    if row.name == DEFAULT_NAME and 'name' in body:
        raise exc.SecurityGroupCannotUpdateDefault()
    check_name(body)
    if 'stateful' in body and body['stateful'] != row.stateful and \
            _in_use(conn, group_id):
        raise exc.SecurityGroupInUse(id=group_id)
    before = _to_dicts(conn, ctx, [row])[0]
    values = common.column_values(security_groups, body)
    values.update(common.bumped(row))
    conn.execute(update(security_groups).where(
        security_groups.c.id == group_id).values(**values))
    if 'tags' in body:
        common.set_tags(conn, group_id, body['tags'])
    return before


def delete_security_group(conn: Connection, ctx: Context,
                          group_id: str) -> dict[str, Any]:
    """Delete a group with its rules and the rules naming it as remote
    group; returns the group as it was, with `remote_of`: the other groups
    that lost rules (their members' filters change)."""
    row = get_row(conn, ctx, group_id)
    if _in_use(conn, group_id):
        raise exc.SecurityGroupInUse(id=group_id)
    if row.name == DEFAULT_NAME and not ctx.is_admin:
        raise exc.SecurityGroupCannotRemoveDefault()
    group = _to_dicts(conn, ctx, [row])[0]
    rules = security_group_rules.c
    group['remote_of'] = sorted(set(conn.execute(
        select(rules.security_group_id).where(
            rules.remote_group_id == group_id,
            rules.security_group_id != group_id)).scalars()))
    conn.execute(delete(security_group_rules).where(or_(
        rules.security_group_id == group_id,
        rules.remote_group_id == group_id)))
    conn.execute(delete(default_security_groups).where(
        default_security_groups.c.security_group_id == group_id))
    conn.execute(delete(security_groups).where(
        security_groups.c.id == group_id))
    common.drop_tags(conn, [group_id])
    rbac.drop_policies(conn, OBJECT_TYPE, [group_id])
    return group


def owners(conn: Connection, group_ids: list[str]) -> dict[str, str]:
    """Group id -> the project that owns it (whoever may see them: this
    serves policy targets, which judge visibility themselves)."""
    rows = conn.execute(select(security_groups.c.id,
                               security_groups.c.project_id)
                        .where(security_groups.c.id.in_(group_ids)))
    return {r.id: r.project_id for r in rows}
