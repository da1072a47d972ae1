"""A private, throwaway PostgreSQL server for tests and benchmarks.

Nothing system-wide is used: the Debian server binaries
(/usr/lib/postgresql/<version>/bin, from the `postgresql` packages) run a
cluster in a temporary directory, listening only on 127.0.0.1 at a free port
and on a unix socket inside that directory, with trust auth (it holds
nothing but test data and dies with the test).  Durability is switched off
(fsync, synchronous_commit, full_page_writes) for speed.

    with PostgresInstance() as pg:
        server = KaonServer(db_url=pg.url, workers=4)

initdb refuses to run as root, so under root every server command runs as
the `postgres` OS user (the Debian package creates it) via runuser, and the
directory is handed to that user.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from tests.support.procs import PrivateServer

SETUP_HINT = ('run tools/install-postgres.sh (it apt-installs the Debian '
              'PostgreSQL server packages) and try again')

# Appended to postgresql.conf: fast and private, not durable.
SETTINGS = {
    'listen_addresses': "'127.0.0.1'",
    'max_connections': '200',
    'shared_buffers': "'128MB'",
    'fsync': 'off',
    'synchronous_commit': 'off',
    'full_page_writes': 'off',
    'logging_collector': 'off',
    'log_min_messages': 'warning',
    'log_min_error_statement': 'panic',
    'log_lock_waits': 'off',
}


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r'/postgresql/([\d.]+)/bin', path)
    return tuple(int(p) for p in match.group(1).split('.')) if match else ()


def find_bindir() -> str:
    """The newest server bin directory (KAON_PG_BINDIR overrides)."""
    wanted = ('initdb', 'pg_ctl', 'postgres')
    candidates = []
    if os.environ.get('KAON_PG_BINDIR'):
        candidates.append(os.environ['KAON_PG_BINDIR'])
    candidates += sorted(glob.glob('/usr/lib/postgresql/*/bin'),
                         key=_version_key, reverse=True)
    for bindir in candidates:
        if all(os.access(os.path.join(bindir, name), os.X_OK)
               for name in wanted):
            return bindir
    raise PostgresNotInstalled(
        'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found '
        'under /usr/lib/postgresql/*/bin (nor in $KAON_PG_BINDIR): '
        + SETUP_HINT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class PostgresInstance(PrivateServer):
    """One private cluster; `url` is ready once start() returns.

    A context manager: leaving it stops the server (immediate mode: the data
    is thrown away anyway) and removes its directory, whatever happened.
    """

    def __init__(self, database: str = 'kaon', user: str = 'postgres',
                 settings: dict[str, str] | None = None) -> None:
        self.bindir = find_bindir()
        self.database = database
        self.user = user
        self.settings = dict(SETTINGS, **(settings or {}))
        self.root: str | None = None
        self.port: int | None = None
        self._started = False

    # -- paths and commands ------------------------------------------------

    @property
    def datadir(self) -> str:
        assert self.root
        return os.path.join(self.root, 'data')

    @property
    def socket_dir(self) -> str:
        assert self.root
        return self.root

    @property
    def log_path(self) -> str:
        assert self.root
        return os.path.join(self.root, 'postgres.log')

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return (f'postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/'
                f'{database}')

    def _as_owner(self) -> list[str]:
        """Run as `postgres` when we are root (initdb refuses root)."""
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam('postgres')
        except KeyError:
            raise PostgresNotInstalled(
                'running as root, but there is no `postgres` OS user to run '
                'the server as: ' + SETUP_HINT) from None
        runuser = shutil.which('runuser') or '/usr/sbin/runuser'
        return [runuser, '-u', 'postgres', '--']

    def _run(self, tool: str, *args: str, timeout: float = 120
             ) -> subprocess.CompletedProcess:
        cmd = self._as_owner() + [os.path.join(self.bindir, tool), *args]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True,
                              text=True, timeout=timeout,
                              env=dict(os.environ, LC_ALL='C', LANG='C'))
        if proc.returncode != 0:
            raise RuntimeError(
                f'{tool} failed ({proc.returncode}):\n{proc.stdout}\n'
                f'{proc.stderr}\n{self.log()}')
        return proc

    def log(self) -> str:
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-5000:]
        except (OSError, AssertionError):
            return ''

    # -- life cycle ----------------------------------------------------------

    def _start(self) -> None:
        self.root = tempfile.mkdtemp(prefix='kaon-pg-')
        os.chmod(self.root, 0o700)
        if os.geteuid() == 0:
            self._as_owner()  # fails clearly if there is no postgres user
            entry = pwd.getpwnam('postgres')
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run('initdb', '-D', self.datadir, '-U', self.user,
                  '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync',
                  '--no-instructions')
        conf = os.path.join(self.datadir, 'postgresql.conf')
        lines = [f'{k} = {v}' for k, v in self.settings.items()]
        lines.append(f"unix_socket_directories = '{self.socket_dir}'")
        # The port is only known free when we look; another process may
        # take it before the server binds, so try a few.
        for attempt in range(5):
            self.port = _free_port()
            with open(conf, 'a') as f:
                f.write('\n# kaon tests\n' + '\n'.join(
                    lines + [f'port = {self.port}']) + '\n')
            try:
                self._run('pg_ctl', 'start', '-D', self.datadir, '-l',
                          self.log_path, '-w', '-t', '60')
                break
            except RuntimeError:
                if attempt == 4 or 'already in use' not in self.log():
                    raise
        self._started = True
        self.create_database(self.database)

    def create_database(self, name: str) -> str:
        """Create another database in this cluster; returns its URL."""
        if not re.fullmatch(r'[a-z_][a-z0-9_]*', name):
            raise ValueError(f'bad database name {name!r}')
        import psycopg
        with psycopg.connect(host='127.0.0.1', port=self.port,
                             user=self.user, dbname='postgres',
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE {name}')
        return self.url_for(name)

    def _postmaster_pid(self) -> int | None:
        try:
            with open(os.path.join(self.datadir, 'postmaster.pid')) as f:
                return int(f.readline().strip())
        except (OSError, ValueError, AssertionError):
            return None

    def stop(self) -> None:
        """Stop the server (immediate); close() removes its directory."""
        if self.root is None:
            return
        pid = self._postmaster_pid()
        if pid is not None:
            try:
                self._run('pg_ctl', 'stop', '-D', self.datadir, '-m',
                          'immediate', '-w', '-t', '30', timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                # Our own postmaster: make sure it is gone.
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                time.sleep(0.5)
        self._started = False
