"""api_workers > 1: gunicorn forks, watches and replaces worker processes
that serve the API through the HTTP front.

Who runs what (kaon.service.rpc says why):
- each worker: its own database engine, plugin, WSGI app and DHCP notifier
  (casts for the events of the requests it serves), opened after the fork
  (the app is not preloaded);
- one RPC process (kaon.service.rpc_process): the RPC server (agents'
  calls, state reports, failover);
- the arbiter (the `kaon server` process): no connections at all, so the
  workers it forks inherit none; it stops the server if the RPC process
  goes.
"""
from __future__ import annotations

import os
import sys
from typing import Any
from wsgiref.types import WSGIApplication

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.workers.base import Worker

from kaon.api.app import build_wsgi
from kaon.conf import CONF
from kaon.rpc.l2pop_notifier import L2AgentNotifier
from kaon.rpc.notifier import DhcpAgentNotifier
from kaon.service import rpc
from kaon.service.api_server import front, warn_if_open_without_auth
from kaon.service.database import open_plugin
from kaon.service.rpc_process import RpcProcess


class FrontWorker(Worker):  # type: ignore[misc]  # gunicorn is untyped
    """A gunicorn worker process serving through the HTTP front; gunicorn
    keeps forking, watching and replacing the workers.  (Its own gthread
    worker reads a request on a pool thread, so stalled clients starve it.)"""

    def run(self) -> None:
        def heartbeat() -> bool:
            self.notify()       # the arbiter kills a worker that falls silent
            return bool(self.alive and self.ppid == os.getppid())
        try:
            front(self.wsgi, [s.sock for s in self.sockets],
                  multiprocess=True).serve(tick=heartbeat)
        finally:
            self.app.stop_worker()


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn, configured in code, with kaon's arbiter and workers."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._notifier: DhcpAgentNotifier | None = None
        self._l2_notifier: L2AgentNotifier | None = None
        self.rpc = RpcProcess()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        """In a worker, after the fork: its own plugin, app and notifiers
        (casts to the DHCP and L2 agents for the events of the requests it
        serves; no consumers)."""
        plugin = open_plugin()
        self._notifier = DhcpAgentNotifier(plugin).start()
        self._l2_notifier = L2AgentNotifier(plugin)
        return build_wsgi(plugin)

    def stop_worker(self) -> None:
        if self._notifier is not None:
            self._notifier.stop(rpc.DRAIN_GRACE)
        if self._l2_notifier is not None:
            self._l2_notifier.stop(rpc.DRAIN_GRACE)

    def run(self) -> None:
        """The RPC process, then the arbiter's main loop; the RPC process
        stops when that ends -- in the arbiter only: a worker unwinds
        through here too when it exits."""
        arbiter = os.getpid()
        self.rpc.start()
        try:
            _Arbiter(self).run()
        except RuntimeError as err:     # as gunicorn's own run() says it
            print(f'\nError: {err}\n', file=sys.stderr)
            sys.exit(1)
        finally:
            if os.getpid() == arbiter:
                self.rpc.stop()


class _Arbiter(Arbiter):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's arbiter, which also watches the RPC process."""

    def manage_workers(self) -> None:
        super().manage_workers()
        if not self.app.rpc.alive():
            raise HaltServer('the RPC server process exited (see the log '
                             'above); stopping', 1)


def serve_workers() -> None:
    """Serve with api_workers gunicorn workers until the arbiter is told
    to stop (SIGTERM, SIGINT)."""
    warn_if_open_without_auth()
    rpc.warn_if_workers_unreachable()
    _Gunicorn({'bind': f'{CONF.bind_host}:{CONF.bind_port}',
               'workers': CONF.api_workers, 'worker_class': FrontWorker,
               'loglevel': 'warning'}).run()
