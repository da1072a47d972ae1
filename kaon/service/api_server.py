"""The API served through the HTTP front (kaon.service.front): the front
over an app in this process, and the start-up checks of a serving process."""
from __future__ import annotations

import logging
import resource
import socket
from wsgiref.types import WSGIApplication

from kaon.conf import CONF
from kaon.service.front import Front, listen

LOG = logging.getLogger(__name__)


def front(app: WSGIApplication, sockets: list[socket.socket],
          multiprocess: bool) -> Front:
    """The front as configured: api_threads, client_socket_timeout and
    [oslo_middleware] max_request_body_size (Neutron's sizelimit step)."""
    return Front(app, sockets, threads=CONF.api_threads,
                 timeout=CONF.client_socket_timeout,
                 max_body=CONF.oslo_middleware.max_request_body_size,
                 multiprocess=multiprocess)


def threaded_server(app: WSGIApplication) -> Front:
    """The API in this process, its socket listening already (serve() and
    stop() it); the backlog is deep enough for a burst of new clients."""
    server = front(app, [listen(CONF.bind_host, CONF.bind_port)],
                   multiprocess=False)
    warn_if_open_without_auth()
    LOG.info('kaon API listening on http://%s:%s', CONF.bind_host,
             CONF.bind_port)
    return server


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
