"""A private, throwaway MariaDB server for the tests that run a real
neutron-server.

Neutron 29 needs MySQL/MariaDB: `neutron-db-manage upgrade heads` fails on
PostgreSQL at migration d553edeb540f (2025.2), which runs `ALTER TABLE
tags CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` on any
database.  Nothing system-wide is used: the Debian `mariadb-server`
binaries run a server with its data in a temporary directory, listening on
127.0.0.1 at a free port and on a socket in that directory, as root (it
holds nothing but test data and dies with the test).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

from tests.support.procs import PrivateServer, end_process_group
from tests.support.server import free_port

SETUP_HINT = ('apt-get install mariadb-server (./dev setup does it) and '
              'try again')


class MariaDB(PrivateServer):
    """One private server; `url_for(database)` once start() returned."""

    def __init__(self, start_timeout: float = 60) -> None:
        for tool in ('mariadb-install-db', 'mariadbd'):
            if shutil.which(tool, path=os.environ.get('PATH', '') +
                            ':/usr/sbin:/usr/bin') is None:
                raise RuntimeError(f'{tool} not found: {SETUP_HINT}')
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def socket_path(self) -> str:
        return self._path('mysqld.sock')

    def url_for(self, database: str) -> str:
        """For oslo.db (PyMySQL)."""
        return (f'mysql+pymysql://root@127.0.0.1:{self.port}/{database}'
                '?charset=utf8mb4')

    def log(self) -> str:
        try:
            with open(self._path('server.log'), errors='replace') as f:
                return f.read()[-5000:]
        except (OSError, AssertionError):
            return ''

    def _start(self) -> None:
        self.root = tempfile.mkdtemp(prefix='kaon-mariadb-')
        self.port = free_port()
        subprocess.run(
            ['mariadb-install-db', '--no-defaults', '--user=root',
             f'--datadir={self._path("data")}', '--skip-test-db'],
            check=True, capture_output=True, timeout=120)
        with open(self._path('server.log'), 'w') as log:
            self.proc = subprocess.Popen(
                ['mariadbd', '--no-defaults', '--user=root',
                 f'--datadir={self._path("data")}',
                 f'--socket={self.socket_path}', f'--port={self.port}',
                 '--bind-address=127.0.0.1', '--skip-grant-tables',
                 '--innodb-flush-log-at-trx-commit=0',
                 f'--pid-file={self._path("mariadbd.pid")}'],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'MariaDB did not start:\n{self.log()}')
            time.sleep(0.2)

    def _accepting(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(('127.0.0.1', self.port or 0)) == 0

    def create_database(self, name: str) -> str:
        subprocess.run(['mariadb', f'--socket={self.socket_path}', '-e',
                        f'CREATE DATABASE {name} CHARACTER SET utf8mb4'],
                       check=True, capture_output=True, timeout=30)
        return self.url_for(name)

    def stop(self) -> None:
        if self.proc is not None:
            end_process_group(self.proc, timeout=20)
            self.proc = None
