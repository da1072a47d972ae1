"""A real `kaon server` process for functional tests and benchmarks."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class KaonServer:
    """Writes a config, migrates the DB, runs `kaon server`, stops it.

    `db_url` None means the embedded SQLite file under the state path.
    Extra options go to [DEFAULT] (`options`), [quotas] (`quotas`) or any
    other section (`sections`, e.g. keystone_authtoken).  `bind_host` is
    where the API listens (loopback unless test hosts must reach it).
    """

    def __init__(self, db_url: str | None = None, workers: int = 1,
                 options: dict[str, Any] | None = None,
                 quotas: dict[str, int] | None = None,
                 server_args: tuple[str, ...] = (),
                 sections: dict[str, dict[str, Any]] | None = None,
                 bind_host: str = '127.0.0.1') -> None:
        # The prefix marks dnsmasq processes of tests (their command lines
        # hold the state path) for clean-up.
        self.state = tempfile.mkdtemp(prefix='kt-state-')
        self.server_args = server_args
        self.port = free_port()
        self.url = f'http://{bind_host}:{self.port}'
        self.config = os.path.join(self.state, 'kaon.conf')
        self.log_path = os.path.join(self.state, 'server.log')
        self.proc: subprocess.Popen | None = None
        lines = ['[DEFAULT]', f'state_path = {self.state}',
                 f'bind_host = {bind_host}', f'bind_port = {self.port}',
                 f'api_workers = {workers}']
        lines += [f'{k} = {v}' for k, v in (options or {}).items()]
        lines += ['[quotas]'] + [f'quota_{k} = {v}'
                                 for k, v in (quotas or {}).items()]
        if db_url:
            lines += ['[database]', f'connection = {db_url}']
        for section, values in (sections or {}).items():
            lines += [f'[{section}]'] + [f'{k} = {v}'
                                         for k, v in values.items()]
        with open(self.config, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def kaon(self, *args: str, check: bool = True
             ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, '-m', 'kaon.cli.main', '--config-file',
             self.config, *args], capture_output=True, text=True,
            check=check, timeout=120)

    def start(self) -> 'KaonServer':
        self.kaon('db', 'upgrade')
        log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'kaon.cli.main', '--config-file',
             self.config, 'server', *self.server_args], stdout=log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120   # 4 workers on a busy machine
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('kaon server exited:\n' + self.log())
            try:
                requests.get(self.url + '/', timeout=2)
                return self
            except requests.RequestException:  # not up yet, or busy
                time.sleep(0.05)
        raise RuntimeError('kaon server did not come up:\n' + self.log())

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> 'KaonServer':
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        self.remove_state()

    def remove_state(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
