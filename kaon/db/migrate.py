"""Schema migrations (Alembic) and the server's start-up schema check."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

_INI = os.path.join(os.path.dirname(__file__), 'alembic.ini')


class SchemaMismatch(Exception):
    """The database is not at the revision this kaon was built for."""


def _config() -> Config:
    return Config(_INI)


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:    # Alembic's answer for a scripts dir with none
        raise RuntimeError('kaon ships no schema migrations: a broken '
                           'install (kaon/db/migrations is missing)')
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = 'head') -> None:
    config = _config()
    with engine.begin() as conn:
        config.attributes['connection'] = conn
        command.upgrade(config, revision)


def check_schema(engine: Engine) -> None:
    """Refuse to run on a schema we don't know, saying what to run."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch(
            'the database has no kaon schema yet: run "kaon db upgrade"')
    known = {s.revision for s in
             ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise SchemaMismatch(
            f'the database schema ({current}) is newer than this kaon '
            f'knows ({head}): upgrade kaon')
    raise SchemaMismatch(
        f'the database schema ({current}) is behind this kaon ({head}): '
        'run "kaon db upgrade"')
