"""Security group rules and the default-rules template they start from
(Neutron's SecurityGroupDbMixin rule half and security-groups-default-
rules).  Validation is kaon.plugin.sg_rule_checks'; this module checks
what needs the database: the groups named exist for the rule's project,
no duplicate, the quota."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.context import Context
from kaon.db.models import (
    default_security_group_rules as templates,
    default_security_groups,
    security_group_rules as rules,
    security_groups,
)
from kaon.plugin import common, quotas, sg_rule_checks as checks
from kaon.plugin.query import ListQuery, select_page, where_clauses

_RULE_FIELDS = ('direction', 'ethertype', 'protocol', 'port_range_min',
                'port_range_max', 'remote_ip_prefix', 'remote_group_id')


def visible(ctx: Context) -> list[Any]:
    """Non-admins see their own rules and every rule of their groups."""
    if ctx.is_admin:
        return []
    own_groups = select(security_groups.c.id).where(
        security_groups.c.project_id == ctx.project_id)
    return [or_(rules.c.project_id == ctx.project_id,
                rules.c.security_group_id.in_(own_groups))]


def default_groups(conn: Connection, group_ids: list[str]) -> set[str]:
    """Which of these groups are their project's default group."""
    grouped = common.rows_by(conn, default_security_groups,
                             'security_group_id', group_ids)
    return {gid for gid, found in grouped.items() if found}


def rows_to_dicts(rows: Sequence[Any], defaults: set[str]
                  ) -> list[dict[str, Any]]:
    result = []
    for row in rows:
        # Plain str keys: a rule is shown nested in its group, where the
        # API's rendering (which makes every top-level key a str) does
        # not reach, and the JSON encoder takes nothing else.
        rule = {str(k): v for k, v in common.row_to_dict(row).items()}
        rule['normalized_cidr'] = checks.normalized_cidr(
            row.remote_ip_prefix)
        rule['belongs_to_default_sg'] = row.security_group_id in defaults
        rule['remote_address_group_id'] = None     # no address groups
        result.append(rule)
    return result


def _to_dicts(conn: Connection, rows: Sequence[Any]
              ) -> list[dict[str, Any]]:
    defaults = default_groups(conn, sorted({r.security_group_id
                                            for r in rows}))
    return rows_to_dicts(rows, defaults)


def _by_default_group(table: Any, values: list[bool]) -> Any:
    in_default = table.c.security_group_id.in_(
        select(default_security_groups.c.security_group_id))
    return or_(*[in_default if value else ~in_default
                 for value in set(values)])


SPECIAL_FILTERS = {'belongs_to_default_sg': _by_default_group}


def list_rules(conn: Connection, ctx: Context,
               query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(rules, query.filters, SPECIAL_FILTERS)
    return _to_dicts(conn, select_page(conn, rules, query,
                                       clauses + visible(ctx)))


def _row(conn: Connection, ctx: Context, rule_id: str) -> Any:
    return common.visible_row(conn, rules, 'security_group_rule', rule_id,
                              visible(ctx))


def get_rule(conn: Connection, ctx: Context, rule_id: str) -> dict[str, Any]:
    return _to_dicts(conn, [_row(conn, ctx, rule_id)])[0]


def _group_for(conn: Connection, ctx: Context, group_id: str,
               project_id: str) -> Any:
    """The group, if the rule's project may use it (an admin any group);
    SecurityGroupNotFound otherwise."""
    stmt = select(security_groups).where(security_groups.c.id == group_id)
    if not ctx.is_admin:
        stmt = stmt.where(security_groups.c.project_id == project_id)
    row = conn.execute(stmt).first()
    if row is None:
        raise exc.SecurityGroupNotFound(id=group_id)
    return row


def _single_group(bodies: list[dict[str, Any]]) -> str:
    """A bulk create adds rules to one group of one project (Neutron's
    _validate_single_project_and_group)."""
    if len({b['security_group_id'] for b in bodies}) > 1:
        raise exc.SecurityGroupNotSingleGroupRules()
    if len({b['project_id'] for b in bodies}) > 1:
        raise exc.SecurityGroupRulesNotSingleProject()
    return str(bodies[0]['security_group_id'])


def _no_duplicates(existing: list[dict[str, Any]],
                   new: list[dict[str, Any]], in_post: type[exc.InUse],
                   exists: type[exc.InUse]) -> None:
    keys = set()
    for body in new:
        key = checks.rule_key(body)
        if key in keys:
            raise in_post()
        keys.add(key)
    for rule in existing:
        if checks.rule_key(rule) in keys:
            raise exists(rule_id=rule['id'])


def create_rules(conn: Connection, ctx: Context,
                 bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    group_id = _single_group(bodies)
    for body in bodies:
        checks.canonical(body)
        checks.validate(body)
        if body.get('remote_group_id'):
            _group_for(conn, ctx, body['remote_group_id'],
                       body['project_id'])
    group = _group_for(conn, ctx, group_id, bodies[0]['project_id'])
    existing = _to_dicts(conn, conn.execute(select(rules).where(
        rules.c.security_group_id == group_id)).all())
    _no_duplicates(existing, bodies, exc.DuplicateSecurityGroupRuleInPost,
                   exc.SecurityGroupRuleExists)
    quotas.enforce_bodies(conn, 'security_group_rule', bodies)
    ids = [_insert(conn, body, group_id, body['project_id'])
           for body in bodies]
    # A rule is part of its group: the group's revision moves with it.
    bump_group(conn, group)
    return _to_dicts(conn, conn.execute(select(rules).where(
        rules.c.id.in_(ids))).all())


def bump_group(conn: Connection, group: Any) -> None:
    conn.execute(update(security_groups).where(
        security_groups.c.id == group.id).values(**common.bumped(group)))


def _insert(conn: Connection, body: dict[str, Any], group_id: str,
            project_id: str) -> str:
    values = {field: body.get(field) for field in _RULE_FIELDS}
    values.update(id=common.new_id(), project_id=project_id,
                  security_group_id=group_id, **common.standard_attrs(body))
    conn.execute(insert(rules), values)
    return str(values['id'])


def delete_rule(conn: Connection, ctx: Context,
                rule_id: str) -> dict[str, Any]:
    """Delete a rule; returns it as it was."""
    row = _row(conn, ctx, rule_id)
    rule = _to_dicts(conn, [row])[0]
    conn.execute(delete(rules).where(rules.c.id == rule_id))
    group = conn.execute(select(security_groups).where(
        security_groups.c.id == row.security_group_id)).first()
    bump_group(conn, group)
    return rule


def no_update(conn: Connection, ctx: Context, item_id: str,
              body: dict[str, Any]) -> None:
    """Rules have no attribute that may change (the API refuses any);
    an empty PUT shows the rule."""
    _row(conn, ctx, item_id)


def no_update_template(conn: Connection, ctx: Context, item_id: str,
                       body: dict[str, Any]) -> None:
    """As no_update, for a default rule."""
    _template_row(conn, item_id)


# -- the default-rules template -------------------------------------------
def copy_template(conn: Connection, group_id: str, project_id: str,
                  is_default: bool) -> None:
    """Give a new group the template's rules for its kind; 'PARENT' as
    remote group is the group itself."""
    used = templates.c.used_in_default_sg if is_default \
        else templates.c.used_in_non_default_sg
    rows = conn.execute(select(templates).where(used.is_(True))).all()
    if not is_default:
        quotas.check_limit(conn, project_id, 'security_group_rule',
                           len(rows))
    for row in rows:
        body = {field: getattr(row, field) for field in _RULE_FIELDS}
        if body['remote_group_id'] == checks.PARENT:
            body['remote_group_id'] = group_id
        _insert(conn, body, group_id, project_id)


def _template_dict(row: Any) -> dict[str, Any]:
    template = {str(k): v for k, v in zip(row._fields, row, strict=True)}
    template['remote_address_group_id'] = None   # no address groups
    return template


def list_templates(conn: Connection, ctx: Context,
                   query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(templates, query.filters, {})
    return [_template_dict(r) for r in select_page(conn, templates, query,
                                                   clauses)]


def _template_row(conn: Connection, rule_id: str) -> Any:
    return common.visible_row(conn, templates,
                              'default_security_group_rule', rule_id, [])


def get_template(conn: Connection, ctx: Context,
                 rule_id: str) -> dict[str, Any]:
    return _template_dict(_template_row(conn, rule_id))


def create_templates(conn: Connection, ctx: Context,
                     bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New default rules; a rule may not repeat one of the templates it
    joins (the default group's, the other groups', or both)."""
    for body in bodies:
        checks.canonical(body)
        checks.validate(body)
    for flag in ('used_in_default_sg', 'used_in_non_default_sg'):
        joining = [b for b in bodies if b[flag]]
        existing = conn.execute(select(templates).where(
            templates.c[flag].is_(True))).all()
        _no_duplicates([_template_dict(r) for r in existing], joining,
                       exc.DuplicateDefaultSgRuleInPost,
                       exc.DefaultSecurityGroupRuleExists)
    created = []
    for body in bodies:
        values = {field: body.get(field) for field in _RULE_FIELDS}
        values.update(id=common.new_id(),
                      description=body.get('description', ''),
                      used_in_default_sg=body['used_in_default_sg'],
                      used_in_non_default_sg=body['used_in_non_default_sg'])
        conn.execute(insert(templates), values)
        created.append(dict(values, remote_address_group_id=None))
    return created


def delete_template(conn: Connection, ctx: Context,
                    rule_id: str) -> dict[str, Any]:
    rule = get_template(conn, ctx, rule_id)
    conn.execute(delete(templates).where(templates.c.id == rule_id))
    return rule
