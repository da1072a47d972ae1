"""Serving the API: one process, or gunicorn worker processes; in both, the
HTTP front (kaon.api.front) reads requests and runs them on `api_threads`."""
from __future__ import annotations

import logging
import os
import resource
import signal
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker

from kaon.api.app import build_wsgi
from kaon.api.front import Front, listen
from kaon.conf import CONF, database_url
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin.core import Plugin

LOG = logging.getLogger(__name__)


def open_database() -> Database:
    return Database(database_url(), max_retries=CONF.database.max_retries,
                    pool_size=CONF.database.max_pool_size)


def make_app() -> Any:
    """A WSGI app with its own engine and RPC service (once per worker)."""
    from kaon.rpc.service import ServerRpc
    plugin = Plugin(open_database())
    ServerRpc(plugin).start()
    return build_wsgi(plugin)


def check_schema() -> None:
    db = open_database()
    try:
        migrate.check_schema(db.engine)
    finally:
        db.dispose()


def front(app: Any, sockets: list[Any], multiprocess: bool) -> Front:
    return Front(app, sockets, threads=CONF.api_threads,
                 timeout=CONF.client_socket_timeout,
                 max_body=CONF.oslo_middleware.max_request_body_size,
                 multiprocess=multiprocess)


class FrontWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker process serving through the HTTP front; gunicorn
    keeps forking, watching and replacing the workers.  (Its own gthread
    worker reads a request on a pool thread, so stalled clients starve it.)"""

    def run(self) -> None:
        def heartbeat() -> bool:
            self.notify()       # the arbiter kills a worker that falls silent
            return self.alive and self.ppid == os.getppid()
        front(self.wsgi, [s.sock for s in self.sockets],
              multiprocess=True).serve(tick=heartbeat)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Not preloaded: each forked worker builds its own engine and pool.
        return make_app()


def warn_if_open_without_auth() -> None:
    """noauth trusts whatever identity a request claims: fine on loopback,
    a hole anywhere else."""
    if CONF.auth_strategy == 'noauth' and \
            CONF.bind_host not in ('127.0.0.1', '::1', 'localhost'):
        LOG.warning('auth_strategy is noauth and the API listens on %s: '
                    'anyone who reaches it is the admin. Use auth_strategy '
                    '= keystone or bind_host = 127.0.0.1.', CONF.bind_host)


def raise_open_files_limit() -> None:
    """A client the front is still reading costs a socket, not a thread,
    so open files are the budget a flood of idle clients spends: take the
    hard limit (systemd's default soft limit is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        LOG.info('Open files limit raised from %s to %s', soft, hard)


def serve(with_dhcp_agent: bool = False) -> None:
    """Serve the API until SIGTERM; optionally run a DHCP agent in this
    process too (the embedded mode, over the in-process kaon:// transport)."""
    check_schema()
    raise_open_files_limit()
    host, port = CONF.bind_host, CONF.bind_port
    if CONF.api_workers > 1:
        warn_if_open_without_auth()
        _Gunicorn({'bind': f'{host}:{port}', 'workers': CONF.api_workers,
                   'worker_class': FrontWorker, 'loglevel': 'warning'}).run()
        return
    from kaon.embedded import Embedded
    embedded = Embedded(CONF, with_dhcp_agent=with_dhcp_agent).start()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        embedded.stop()


def threaded_server(app: Any) -> Front:
    """The API in this process, its socket listening already (serve() and
    stop() it); the backlog is deep enough for a burst of new clients."""
    server = front(app, [listen(CONF.bind_host, CONF.bind_port)],
                   multiprocess=False)
    warn_if_open_without_auth()
    LOG.info('kaon API listening on http://%s:%s', CONF.bind_host,
             CONF.bind_port)
    return server


def _exit_on_signal(signum: int, _frame: Any) -> None:
    """Unwind out of the wait in serve(); the clean-up runs on the way."""
    raise SystemExit(0)
