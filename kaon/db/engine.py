"""Connections and transactions, with the retry rules of a busy database.

Every write runs as a function of one connection inside one transaction; a
transaction that loses a race (unique conflict, deadlock, serialization
failure, a locked SQLite file) is rolled back and run again from the start,
so the losers re-check their preconditions and fail with a proper 409
instead of a 500.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from kaon import state_files
from kaon.exceptions import RetryRequest

LOG = logging.getLogger(__name__)
T = TypeVar('T')

# SQLSTATEs meaning "a concurrent transaction won": serialization failure,
# deadlock, and the unique and foreign-key violations a race produces.
_PG_RETRY_STATES = {'40001', '40P01', '23505', '23503'}
_SQLITE_RACES = ('UNIQUE constraint failed', 'FOREIGN KEY constraint failed')


def _is_retriable(exc: BaseException) -> bool:
    if isinstance(exc, RetryRequest):
        return True
    if isinstance(exc, IntegrityError) and any(
            race in str(exc.orig) for race in _SQLITE_RACES):
        return True
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, 'sqlstate', None)
        if state in _PG_RETRY_STATES:
            return True
        if isinstance(exc, OperationalError) and 'locked' in str(exc.orig):
            return True
    return False


def _private_sqlite_file(url: str) -> None:
    """The database file 0600 before SQLite first opens it (SQLite makes
    its -wal and -shm files with the database's mode); files an older kaon
    left readable by others are tightened."""
    path = make_url(url).database
    if not path or path == ':memory:' or path.startswith('file:'):
        return
    state_files.private_file(path)
    for suffix in ('-wal', '-shm', '-journal'):
        if os.path.exists(path + suffix):
            state_files.private_file(path + suffix)


def _make_engine(url: str, pool_size: int) -> Engine:
    if url.startswith('sqlite'):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={
            'check_same_thread': False, 'timeout': 30})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                         pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, FK enforcement, explicit BEGINs.

    pysqlite's own transaction handling is turned off so that writers can
    open with BEGIN IMMEDIATE: taking the write lock up front is what keeps
    two deferred transactions from deadlocking on the upgrade to writer.
    """
    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute('PRAGMA journal_mode=WAL')
        cur.execute('PRAGMA synchronous=NORMAL')
        cur.execute('PRAGMA foreign_keys=ON')
        cur.close()

    @event.listens_for(engine, 'begin')
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.info.pop('begin_sql', 'BEGIN'))


class Database:
    """One engine per process, and the two ways of using it."""

    def __init__(self, url: str, max_retries: int = 20,
                 pool_size: int = 10) -> None:
        self.url = url
        self.max_retries = max_retries
        self.engine = _make_engine(url, pool_size)
        self.is_sqlite = url.startswith('sqlite')
        # SQLite has one writer at a time anyway; queueing writers of this
        # process on a lock is cheaper than having them spin on busy_timeout.
        self._write_lock = (threading.Lock() if self.is_sqlite
                            else contextlib.nullcontext())

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a write transaction, retrying lost races."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._write_once(work)
            except Exception as exc:
                if not _is_retriable(exc) or attempt == self.max_retries:
                    raise
                LOG.debug('retrying transaction after %r', exc)
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError('unreachable')

    def _write_once(self, work: Callable[[Connection], T]) -> T:
        with self._write_lock, self.engine.connect() as conn:
            if self.is_sqlite:
                conn.info['begin_sql'] = 'BEGIN IMMEDIATE'
            with conn.begin():
                return work(conn)

    def dispose(self) -> None:
        self.engine.dispose()
