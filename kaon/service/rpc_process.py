"""With api_workers > 1, the kaon server's one RPC server runs in a process
of its own, forked by `kaon server` before gunicorn starts.

Why not in the gunicorn arbiter: the arbiter forks a new worker whenever
one dies, and a child inherits every open file of its parent.  A worker
would hold copies of the RPC server's broker sockets (should the RPC
server drop a connection, the copy keeps it open and the broker keeps
delivering to its consumers) and database sockets.  Forked before gunicorn
opens anything, the RPC process shares nothing but the code; the arbiter,
holding no connections, forks clean workers.

Lifetime: the arbiter looks at the RPC process on every turn of its loop
and stops the whole server, saying why, if it has gone (a server whose
agents cannot reach it must not look healthy); the RPC process stops when
told (SIGTERM) or when its parent is gone.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from kaon.service.rpc import RpcServer

LOG = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0     # RPC servers stop and wait, queued casts drain (5 s)
PARENT_CHECK = 1.0      # how often the RPC process looks for its parent


class RpcProcess:
    """The RPC server's process, seen from the `kaon server` process."""

    def __init__(self) -> None:
        self.pid: int | None = None

    def start(self) -> RpcProcess:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:            # never back into the caller's stack
            status = 1
            try:
                status = _serve_rpc(parent)
            finally:
                os._exit(status)
        self.pid = pid
        LOG.info('RPC server running in process %d', pid)
        return self

    def alive(self) -> bool:
        """Whether it still runs.  (gunicorn reaps any child that exits,
        ours too: then ours is simply no longer a child.)"""
        if self.pid is None:
            return False
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return done == 0

    def stop(self) -> None:
        """SIGTERM, STOP_TIMEOUT seconds to finish, then SIGKILL."""
        if not self.alive():
            return
        assert self.pid is not None
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.alive():
            if time.monotonic() > deadline:
                LOG.error('RPC server (process %d) did not stop within '
                          '%.0f s; killing it', self.pid, STOP_TIMEOUT)
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                return
            time.sleep(0.05)


def _serve_rpc(parent: int) -> int:
    """The forked process: serve RPC until told to stop or orphaned."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C reaches the whole process group: the arbiter stops its workers
    # first, then this process (SIGTERM), so that no worker outlives RPC.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    status = 0
    try:
        server = RpcServer().start()
        try:
            while not stop.wait(PARENT_CHECK):
                if os.getppid() != parent:
                    LOG.error('kaon server (process %d) is gone; the RPC '
                              'server stops', parent)
                    break
        finally:
            server.stop()
    except Exception:  # noqa: BLE001 - said here, seen by the arbiter
        LOG.exception('RPC server failed')
        status = 1
    logging.shutdown()      # os._exit() skips the flush at exit
    return status
