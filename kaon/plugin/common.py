"""Pieces every resource of the plugin shares: ids, timestamps, tags."""
from __future__ import annotations

import datetime
import uuid
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import (
    String,
    Table,
    any_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.schema import ColumnDefault

from kaon import exceptions as exc
from kaon.db.models import tags as tags_table
from kaon.plugin import bindings
from kaon.plugin.query import COLUMN_TO_ATTR, RENAMED

# SQLite's limit on bound parameters is 999 on old builds; stay under it.
CHUNK = 900


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


def timestamp(value: datetime.datetime) -> str:
    """Neutron shows times as ISO 8601 UTC with a Z and no fraction
    (isoformat, not strftime: three times faster, and a list of 10,000
    ports formats 20,000 of them)."""
    return value.isoformat(timespec='seconds') + 'Z'


def standard_attrs(body: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    return {'description': body.get('description', ''), 'created_at': now,
            'updated_at': now, 'revision_number': 0}


def bumped(row: Any) -> dict[str, Any]:
    """Values marking a row changed: new updated_at, next revision."""
    return {'updated_at': utcnow(),
            'revision_number': row.revision_number + 1}


def bump(conn: Connection, table: Table, ids: Iterable[str]) -> None:
    """Mark rows changed by a change to something they show (Neutron's
    revises_on_change: a subnet revises its network, an address its
    port): next revision, new updated_at, counted in SQL so that two
    transactions bumping one row both count."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    for clause in _parents_in(conn, table.c.id, wanted):
        conn.execute(update(table).where(clause).values(
            revision_number=table.c.revision_number + 1,
            updated_at=utcnow()))


def row_to_dict(row: Any) -> dict[str, Any]:
    """A table row as the API's attributes (renamed columns, both ids)."""
    return to_api(dict(zip(row._fields, row, strict=True)))


def to_api(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as attributes, with those derived from them (a
    port's binding from its host)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime.datetime):
            value = timestamp(value)
        out[COLUMN_TO_ATTR.get(name, name)] = value
    out['tenant_id'] = out['project_id']
    if 'binding:host_id' in out:
        out.update(bindings.attributes(out['binding:host_id']))
    return out


def with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Column values as the inserted row will hold them (scalar defaults)."""
    full = {}
    for col in table.c:
        if col.name in values:
            full[col.name] = values[col.name]
        elif isinstance(col.default, ColumnDefault):
            full[col.name] = col.default.arg
        else:
            full[col.name] = None
    return full


def chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _parents_in(conn: Connection, column: Any,
                ids: list[str]) -> Iterator[Any]:
    """`column IN ids` as cheaply as the database allows: one array
    parameter on PostgreSQL (900 bound parameters per query cost it more
    than the query), chunks under SQLite's parameter limit elsewhere."""
    if conn.dialect.name == 'postgresql':
        yield column == any_(bindparam('ids', ids, type_=ARRAY(String)))
        return
    for part in chunks(ids):
        yield column.in_(part)


def rows_by(conn: Connection, table: Table, key: str, ids: list[str],
            *order: Any) -> dict[str, list[Any]]:
    """Child rows of many parents, grouped by parent id."""
    grouped: dict[str, list[Any]] = {i: [] for i in ids}
    if not ids:
        return grouped
    position = list(table.c.keys()).index(key)
    for clause in _parents_in(conn, table.c[key], ids):
        for row in conn.execute(select(table).where(clause).order_by(*order)):
            grouped[row[position]].append(row)
    return grouped


def load_tags(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    grouped = rows_by(conn, tags_table, 'resource_id', ids, tags_table.c.tag)
    return {i: [r.tag for r in rows] for i, rows in grouped.items()}


def set_tags(conn: Connection, resource_id: str, tags: Iterable[str],
             new: bool = False) -> None:
    if not new:
        conn.execute(delete(tags_table).where(
            tags_table.c.resource_id == resource_id))
    rows = [{'resource_id': resource_id, 'tag': t} for t in sorted(set(tags))]
    if rows:
        conn.execute(insert(tags_table), rows)


def column_values(table: Table, body: dict[str, Any]) -> dict[str, Any]:
    """The part of an API body that is stored in `table`'s own columns."""
    values = {}
    for attr, value in body.items():
        name = RENAMED.get(attr, attr)
        if attr != 'tenant_id' and name in table.c:
            values[name] = value
    return values


def drop_tags(conn: Connection, resource_ids: list[str]) -> None:
    for part in chunks(resource_ids):
        conn.execute(delete(tags_table).where(
            tags_table.c.resource_id.in_(part)))


def visible_row(conn: Connection, table: Table, resource: str, item_id: str,
                visible: list[Any], for_update: bool = False) -> Row[Any]:
    """One row the caller may see (`visible`: the resource's where
    clauses for the context), or the resource's NotFound: a row hidden
    from the caller does not exist for it."""
    stmt = select(table).where(table.c.id == item_id, *visible)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise exc.not_found(resource, item_id)
    return row
