"""The database as the server opens it, from [database], and its schema.

The server refuses to start on a schema that does not match its code
(check_schema); `kaon db upgrade` and `kaon up` migrate it (upgrade).
"""
from __future__ import annotations

from kaon.conf import CONF, database_url
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin.core import Plugin

# What check_schema raises, for the CLI to say in one line.
SchemaMismatch = migrate.SchemaMismatch


def open_database() -> Database:
    """An engine and pool of this process's own (never share one across
    a fork: the child would write on its parent's connections)."""
    return Database(database_url(), max_retries=CONF.database.max_retries,
                    pool_size=CONF.database.max_pool_size)


def open_plugin() -> Plugin:
    return Plugin(open_database())


def check_schema() -> None:
    """Raise migrate.SchemaMismatch unless the schema is the code's."""
    db = open_database()
    try:
        migrate.check_schema(db.engine)
    finally:
        db.dispose()


def upgrade() -> str:
    """Apply the migrations; the revision the database is at now."""
    db = open_database()
    try:
        migrate.upgrade(db.engine)
        return str(migrate.current_revision(db.engine))
    finally:
        db.dispose()
