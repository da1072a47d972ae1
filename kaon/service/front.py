"""The HTTP front: whole requests read on an event loop, then run on threads.

A thread-per-connection server lets any client hold a worker thread for as
long as it takes to send its request: 16 clients that send headers and stall
starved the API (cheroot, and gunicorn's gthread workers alike).  Here one
asyncio loop reads every request -- head and body, against one deadline per
request (`client_socket_timeout`) and the body size limit -- and only a
complete request is handed to the WSGI app on the pool of `api_threads`.  A
stalled client costs a socket and a buffer, never a thread; the app always
gets a plain, fully read body (chunked bodies are decoded here).
"""
from __future__ import annotations

import asyncio
import http
import io
import logging
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import Any, Callable, Iterable
from wsgiref.types import WSGIApplication

from kaon.api.faults import error_document
from kaon.service import framing
from kaon.service.framing import HttpError

LOG = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024   # request line + header fields; a chunk-size line
LINGER = 2.0     # seconds a refused request's unread body is discarded
GRACE = 10.0     # seconds requests being served may finish on stop()
TICK = 0.2       # how often the loop looks at stop() and the tick callback
Response = tuple[str, list[tuple[str, str]], bytes]


class Front:
    """Serves one WSGI app on listening sockets until stop()."""

    def __init__(self, app: WSGIApplication, sockets: list[socket.socket],
                 threads: int, timeout: float | None, max_body: int,
                 multiprocess: bool = False) -> None:
        self.app = app
        self.sockets = sockets
        self.threads = threads
        self.timeout = timeout or None     # 0 means no deadline
        self.max_body = max_body
        self.multiprocess = multiprocess
        self._stop = threading.Event()
        self._done = threading.Event()
        self._busy: set[asyncio.Task[None]] = set()
        self._connections: dict[asyncio.Task[None],
                                asyncio.StreamWriter] = {}
        self._pool: ThreadPoolExecutor | None = None

    # -- life cycle ------------------------------------------------------
    def serve(self, tick: Callable[[], bool] | None = None) -> None:
        """Serve until stop(), or until `tick` (called every TICK seconds,
        e.g. a gunicorn worker's heartbeat) returns False."""
        try:
            asyncio.run(self._main(tick))
        finally:
            self._done.set()

    def stop(self) -> None:
        """Stop accepting, let requests being served finish; thread-safe."""
        self._stop.set()
        self._done.wait(GRACE + 5)

    async def _main(self, tick: Callable[[], bool] | None) -> None:
        self._pool = ThreadPoolExecutor(self.threads,
                                        thread_name_prefix='api')
        servers = [await asyncio.start_server(self._connection, sock=s,
                                              limit=HEAD_LIMIT)
                   for s in self.sockets]
        while not self._stop.is_set() and (tick is None or tick()):
            await asyncio.sleep(TICK)
        for server in servers:
            server.close()
        for task, writer in self._connections.items():
            if task not in self._busy:   # idle or half-sent: nothing ran
                writer.transport.abort()
        if self._connections:
            await asyncio.wait(self._connections, timeout=GRACE)
        for task in self._connections:
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- one connection ----------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await self._requests(reader, writer, task)
        except HttpError as err:
            await self._refuse(reader, writer, err)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass        # stalled past the deadline, or gone: just close
        finally:
            del self._connections[task]
            self._busy.discard(task)
            if writer.transport.get_write_buffer_size():
                writer.transport.abort()    # a client that does not read
            else:
                writer.close()

    async def _requests(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter,
                        task: asyncio.Task[None]) -> None:
        """Request after request on a kept-alive connection."""
        while not self._stop.is_set():
            async with asyncio.timeout(self.timeout):
                request = await self._read_request(reader, writer)
            if request is None:
                return
            head, body = request
            self._busy.add(task)
            loop = asyncio.get_running_loop()
            status, headers, payload = await loop.run_in_executor(
                self._pool, self._call, head, body, writer)
            keep = framing.keep_alive(head) and not self._stop.is_set()
            writer.write(_response(status, headers, payload, keep,
                                   head.method == 'HEAD'))
            if writer.transport.get_write_buffer_size():
                async with asyncio.timeout(self.timeout):
                    await writer.drain()    # a large answer, a slow reader
            self._busy.discard(task)
            if not keep:
                return

    async def _read_request(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter
                            ) -> tuple[framing.Head, bytes] | None:
        """The next request, whole; None when the client closed cleanly."""
        raw = await _read_head(reader)
        if raw is None:
            return None
        head = framing.parse_head(raw)
        length = framing.body_length(head, self.max_body)
        if length and framing.expects_continue(head):
            writer.write(b'HTTP/1.1 100 Continue\r\n\r\n')
        if length == framing.CHUNKED:
            return head, await self._read_chunked(reader)
        return head, await reader.readexactly(length)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        """RFC 9112 7.1: chunks until a zero-size one, then trailer fields
        (read and dropped), the total held to the body size limit."""
        parts: list[bytes] = []
        total = 0
        while size := framing.chunk_size(await _line(reader)):
            total += size
            framing.check_size(total, self.max_body)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b'\r\n':
                raise framing.bad_request('Malformed chunked request body.')
        while await _line(reader):
            pass
        return b''.join(parts)

    async def _refuse(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, err: HttpError) -> None:
        """Answer a request the server will not run, then close.  What the
        client still sends is read and dropped for a moment first: closing
        with unread data resets the connection, and the client would see
        the reset instead of the answer."""
        body = error_document(err.type, err.message)
        headers = [('Content-Type', 'application/json')]
        writer.write(_response(_status(err.status), headers, body,
                               keep=False, head_only=False))
        try:
            async with asyncio.timeout(LINGER):
                await writer.drain()
                writer.write_eof()
                while await reader.read(HEAD_LIMIT):
                    pass
        except (TimeoutError, OSError):
            pass

    # -- the app, on a pool thread -----------------------------------------
    def _call(self, head: framing.Head, body: bytes,
              writer: asyncio.StreamWriter) -> Response:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [(status, headers)]
            return chunks.append

        try:
            environ = self._environ(head, body, writer)
            result: Iterable[bytes] = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                getattr(result, 'close', lambda: None)()
            status, headers = started[0]
            return status, headers, b''.join(chunks)
        except HttpError as err:
            return (_status(err.status),
                    [('Content-Type', 'application/json')],
                    error_document(err.type, err.message))
        except Exception:
            LOG.exception('%s %s failed', head.method, head.target)
            return ('500 Internal Server Error',
                    [('Content-Type', 'application/json')],
                    error_document('HTTPInternalServerError',
                                   'Request Failed: internal server error '
                                   'while processing your request.'))

    def _environ(self, head: framing.Head, body: bytes,
                 writer: asyncio.StreamWriter) -> dict[str, Any]:
        """PEP 3333's environ for a request read in full."""
        path, query = framing.split_target(head.target)
        server = writer.get_extra_info('sockname')
        peer = writer.get_extra_info('peername') or ('', 0)
        environ: dict[str, Any] = {
            'REQUEST_METHOD': head.method, 'SCRIPT_NAME': '',
            'PATH_INFO': path, 'QUERY_STRING': query,
            'SERVER_PROTOCOL': head.version, 'SERVER_NAME': server[0],
            'SERVER_PORT': str(server[1]), 'REMOTE_ADDR': peer[0],
            'REMOTE_PORT': str(peer[1]), 'CONTENT_LENGTH': str(len(body)),
            'wsgi.version': (1, 0), 'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(body), 'wsgi.errors': sys.stderr,
            'wsgi.multithread': True, 'wsgi.multiprocess': self.multiprocess,
            'wsgi.run_once': False, 'wsgi.input_terminated': True}
        for name, value in head.headers:
            # A name with '_' lands on the same key as its '-' twin
            # (X-Project_Id, X-Project-Id): two headers read as one.  Drop
            # it, as nginx and gunicorn (header_map = drop) do.
            if '_' in name or name in _FRAMING:
                continue
            key = 'CONTENT_TYPE' if name == 'content-type' else \
                'HTTP_' + name.upper().replace('-', '_')
            environ[key] = f'{environ[key]},{value}' if key in environ \
                else value
        return environ


# Headers the front has consumed: the app sees a plain body of known length.
_FRAMING = ('content-length', 'transfer-encoding', 'expect', 'connection')


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The request line and header fields, without the blank line; None
    if the client closes the connection before a request."""
    raw = b''
    while not raw:      # RFC 9112 2.2: empty lines before a request are
        try:            # skipped
            raw = (await reader.readuntil(b'\r\n\r\n')).lstrip(b'\r\n')
        except asyncio.IncompleteReadError as err:
            if err.partial.strip(b'\r\n'):
                raise
            return None
        except asyncio.LimitOverrunError:
            raise HttpError(431, 'HTTPRequestHeaderFieldsTooLarge',
                            'The request head is too large.') from None
    return raw[:-4]


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One CRLF-terminated line of a chunked body, without the CRLF."""
    try:
        return (await reader.readuntil(b'\r\n'))[:-2]
    except asyncio.LimitOverrunError:
        raise framing.bad_request('A line of the chunked request body is '
                                  'too long.') from None


def _status(code: int) -> str:
    return f'{code} {http.HTTPStatus(code).phrase}'


def _response(status: str, headers: list[tuple[str, str]], payload: bytes,
              keep: bool, head_only: bool) -> bytes:
    """The response, framed by Content-Length (the app's body is whole;
    to HEAD, the app's own Content-Length of the body it would send)."""
    code = int(status[:3])
    framing_headers = ('content-length', 'connection', 'transfer-encoding',
                       'date')
    lines = [f'HTTP/1.1 {status}']
    lines += [f'{k}: {v}' for k, v in headers
              if k.lower() not in framing_headers]
    declared = [v for k, v in headers if k.lower() == 'content-length']
    if code not in (204, 304):
        length = declared[0] if head_only and declared else len(payload)
        lines.append(f'Content-Length: {length}')
    lines.append('Date: ' + formatdate(usegmt=True))
    if not keep:
        lines.append('Connection: close')
    head = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
    return head if head_only or code in (204, 304) else head + payload


def listen(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on host:port (IPv4, IPv6 or a name)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family,
                                backlog=backlog)
