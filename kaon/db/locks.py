"""Named locks held until the end of the current write transaction.

A check followed by the write it guards (count a project's ports, then add
one) is race-free only if no other transaction can make the same check in
between.  hold() closes that gap without a table of lock rows:

* PostgreSQL: pg_advisory_xact_lock on a 64-bit key hashed from the name.
  It is released at commit or rollback, after the commit became visible,
  so the next holder's statements (READ COMMITTED: a fresh snapshot each)
  see what the previous holder wrote.  Two names sharing a hash only wait
  for each other, they are never confused.
* SQLite: nothing to take.  kaon's write transactions begin IMMEDIATE
  (kaon.db.engine), which takes the database's single writer lock before
  the first read, so every write transaction is already alone.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.engine import Connection

_PG_LOCK = text('SELECT pg_advisory_xact_lock(:key)')


def _key(name: str) -> int:
    """A stable signed 64-bit key: the same in every process and run."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'big', signed=True)


def hold(conn: Connection, name: str) -> None:
    """Wait for, then hold until the transaction ends, the lock `name`."""
    dialect = conn.dialect.name
    if dialect == 'postgresql':
        conn.execute(_PG_LOCK, {'key': _key(name)})
    elif dialect != 'sqlite':
        raise NotImplementedError(f'no transaction locks on {dialect}')
