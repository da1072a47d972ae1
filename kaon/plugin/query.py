"""Turning a list request (filters, sort, page) into one SQL statement.

The API layer has already checked which attributes may be filtered and
sorted on and converted the values; this module only maps attribute names
to columns and builds the WHERE / ORDER BY / LIMIT, so that the database,
not Python, does the filtering (a non-admin listing 10,000 foreign ports
costs one indexed query).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Table, and_, false, or_, select, true
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement, Select

from kaon import exceptions as exc
from kaon.db.models import tags as tags_table

# API attribute -> column, where the two differ.
RENAMED = {'tenant_id': 'project_id', 'router:external': 'external',
           'binding:host_id': 'host', 'binding:vnic_type': 'vnic_type'}
COLUMN_TO_ATTR = {'external': 'router:external', 'host': 'binding:host_id',
                  'vnic_type': 'binding:vnic_type'}

# Filters that are not a column: attribute -> f(table, values) -> clause.
SpecialFilter = Callable[[Table, list[Any]], ColumnElement[bool]]


@dataclasses.dataclass
class ListQuery:
    filters: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    sorts: list[tuple[str, bool]] = dataclasses.field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


def column(table: Table, attr: str) -> Any:
    return table.c[RENAMED.get(attr, attr)]


def _tag_filters(table: Table, name: str, values: list[str]) -> Any:
    """Neutron's tag filters: tags (all), tags-any, not-tags, not-tags-any."""
    wanted = [t for v in values for t in str(v).split(',') if t]

    def has(tag: str) -> Any:
        return table.c.id.in_(select(tags_table.c.resource_id)
                              .where(tags_table.c.tag == tag))
    clauses = [has(t) for t in wanted]
    if not clauses:
        return true()
    return {'tags': and_(*clauses), 'tags-any': or_(*clauses),
            'not-tags': ~and_(*clauses), 'not-tags-any': ~or_(*clauses)}[name]


TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')


def where_clauses(table: Table, filters: dict[str, list[Any]],
                  special: Mapping[str, SpecialFilter]) -> list[Any]:
    clauses = []
    for attr, values in filters.items():
        if attr in special:
            clauses.append(special[attr](table, values))
        elif attr in TAG_FILTERS:
            clauses.append(_tag_filters(table, attr, values))
        elif values:
            clauses.append(column(table, attr).in_(values))
        else:
            clauses.append(false())
    return clauses


def _order(table: Table, sorts: Sequence[tuple[str, bool]],
           reverse: bool) -> list[tuple[Any, bool]]:
    keys = [(column(table, attr), asc != reverse) for attr, asc in sorts]
    if not any(col is table.c.id for col, _ in keys):
        keys.append((table.c.id, not reverse))
    return keys


def _after_marker(keys: list[tuple[Any, bool]], marker_row: Any) -> Any:
    """Rows strictly after the marker in the given order (keyset paging)."""
    alternatives = []
    for i, (col, asc) in enumerate(keys):
        equal = [c == marker_row[c.name] for c, _ in keys[:i]]
        beyond = col > marker_row[col.name] if asc else \
            col < marker_row[col.name]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


def _marker_row(conn: Connection, table: Table, marker: str,
                clauses: list[Any]) -> Any:
    """The marker's row, read through the page's own clauses (the caller's
    visibility and the filters): a marker the caller cannot see -- another
    project's item, or none at all -- is NotFound, as in Neutron, whose
    pagination loads the marker with the caller's own get.  It is never a
    position in someone else's data, nor silently the first page."""
    row = conn.execute(select(table).where(
        table.c.id == marker, *clauses)).mappings().first()
    if row is None:
        # What the caller's own GET of the marker raises; tables are
        # named by their collection (`ports` holds `port`s).
        raise exc.not_found(table.name.removesuffix('s'), marker)
    return row


def select_page(conn: Connection, table: Table, query: ListQuery,
                clauses: list[Any]) -> list[Row[Any]]:
    """The rows of one page, in the requested order."""
    keys = _order(table, query.sorts, query.page_reverse)
    stmt: Select[Any] = select(table).where(*clauses)
    if query.marker:
        stmt = stmt.where(_after_marker(keys, _marker_row(
            conn, table, query.marker, clauses)))
    stmt = stmt.order_by(*[c.asc() if asc else c.desc() for c, asc in keys])
    if query.limit:
        stmt = stmt.limit(query.limit)
    rows = conn.execute(stmt).all()
    return list(rows[::-1] if query.page_reverse else rows)
