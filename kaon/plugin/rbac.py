"""What RBAC policies grant, as SQL: the clauses the visibility and the
`shared` attribute of networks (and subnets, through their network) are
built from, and the `networks.shared` cache.

Neutron derives `shared` from the policies for the caller: a network is
shared *for a project* when an `access_as_shared` policy targets '*' or
that project (db_base_plugin_common._is_network_shared), and the `shared`
filter means the same (neutron-lib's model_query.apply_filters).  Both are
clauses here, subqueries on the indexed policy table, never a query per
network.

The '*' case is by far the common one (every `shared=True` network), so a
table with a `shared` column keeps "a '*' access_as_shared policy exists"
there: visibility and filters then read an indexed column, and sorting on
`shared` keeps working.  Only this module writes the column, in the same
transaction as the policy, with the object's row locked (every policy
change on an object locks it first), so it never disagrees with the
policies.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from kaon.db.models import rbac_policies as policies
from kaon.plugin import common

ACCESS_SHARED = 'access_as_shared'
WILDCARD = '*'


def targeted(object_type: str, *targets: str) -> Any:
    """The ids of the objects of `object_type` shared with one of
    `targets` (project ids, or '*')."""
    return select(policies.c.object_id).where(
        policies.c.object_type == object_type,
        policies.c.action == ACCESS_SHARED,
        policies.c.target_project.in_(targets))


def shared_for(table: Table, object_type: str,
               project_id: str) -> ColumnElement[bool]:
    """Rows of `table` shared with the project: through '*' (the cached
    column, for a table that has one) or a policy naming it."""
    if 'shared' not in table.c:
        return table.c.id.in_(targeted(object_type, project_id, WILDCARD))
    return or_(table.c.shared.is_(True),
               table.c.id.in_(targeted(object_type, project_id)))


def matching(shared: ColumnElement[bool],
             values: list[Any]) -> ColumnElement[bool]:
    """A `shared=<bool>` filter over the clause saying a row is shared;
    repeated values mean OR, as for any filter."""
    return or_(*[shared if value else ~shared for value in values])


def shared_ids(conn: Connection, object_type: str,
               project_id: str) -> set[str]:
    """The objects shared with exactly this project: one query, however
    long the list being shown."""
    return set(conn.execute(targeted(object_type, project_id)).scalars())


def add(conn: Connection, object_type: str, object_id: str, project_id: str,
        target: str, action: str = ACCESS_SHARED) -> dict[str, Any]:
    """Insert a policy (the caller checked it is new); returns its row as a
    dict of columns."""
    values = {'id': common.new_id(), 'project_id': project_id,
              'object_type': object_type, 'object_id': object_id,
              'action': action, 'target_project': target}
    conn.execute(insert(policies), values)
    return values


def find(conn: Connection, object_type: str, object_id: str, target: str,
         action: str = ACCESS_SHARED) -> Any:
    return conn.execute(select(policies).where(
        policies.c.object_type == object_type,
        policies.c.object_id == object_id, policies.c.action == action,
        policies.c.target_project == target)).first()


def targets(conn: Connection, object_type: str, object_id: str,
            action: str = ACCESS_SHARED) -> set[str]:
    return set(conn.execute(select(policies.c.target_project).where(
        policies.c.object_type == object_type,
        policies.c.object_id == object_id,
        policies.c.action == action)).scalars())


def refresh_cache(conn: Connection, table: Table, object_type: str,
                  object_id: str) -> None:
    """Set the `shared` column from the policies (tables that have one)."""
    if 'shared' not in table.c:
        return
    wildcard = find(conn, object_type, object_id, WILDCARD) is not None
    conn.execute(update(table).where(table.c.id == object_id)
                 .values(shared=wildcard))


def drop_policies(conn: Connection, object_type: str,
                  object_ids: list[str]) -> None:
    """An object is deleted: its policies go with it (the table has no
    foreign key to cascade from)."""
    for part in common.chunks(object_ids):
        conn.execute(delete(policies).where(and_(
            policies.c.object_type == object_type,
            policies.c.object_id.in_(part))))


def remove(conn: Connection, policy_id: str) -> None:
    conn.execute(delete(policies).where(policies.c.id == policy_id))


def strands(conn: Connection, object_type: str, object_id: str, owner: str,
            target: str, users: set[str]) -> bool:
    """Neutron's in-use rule (RbacNeutronDbObjectMixin and
    ensure_no_project_ports_on_network): taking `target`'s access away
    would leave one of `users` (the projects with resources hanging off
    the object) without access.  The owner never needs a policy; a
    project named by a policy keeps access when the '*' one goes, and
    everyone keeps it through '*' when a project's goes."""
    if target == owner:
        return False
    granted = targets(conn, object_type, object_id)
    if target != WILDCARD:
        return WILDCARD not in granted and target in users
    return bool(users - (granted - {WILDCARD}) - {owner})
