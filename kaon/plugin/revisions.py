"""Compare-and-swap on revision numbers (Neutron's revision-if-match).

The plugin checks the revision a request is constrained to inside the
write transaction that changes the resource, after locking its row (FOR
UPDATE; SQLite's writers take turns anyway): no other update can slip in
between the check and the change, and of two updates constrained to the
same revision exactly one wins.
"""
from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.db.models import (
    networks,
    ports,
    security_group_rules,
    security_groups,
    subnets,
)

# The resources with a revision_number, by name (RBAC policies have none,
# as Neutron's).
TABLES: dict[str, Table] = {
    'network': networks,
    'subnet': subnets,
    'port': ports,
    'security_group': security_groups,
    'security_group_rule': security_group_rules,
}


def check(conn: Connection, resource: str, item_id: str,
          expected: int | None) -> None:
    """412 unless the item is at revision `expected` (None: no constraint).
    A missing item is left to the operation's own NotFound."""
    if expected is None:
        return
    table = TABLES.get(resource)
    if table is None:
        raise exc.BadRequest(resource=resource, msg='Revision matching not '
                             'supported for this resource')
    current = conn.execute(select(table.c.revision_number).where(
        table.c.id == item_id).with_for_update()).scalar()
    if current is not None and current != expected:
        raise exc.RevisionNumberConstraintFailed(expected=expected,
                                                 current=current)
