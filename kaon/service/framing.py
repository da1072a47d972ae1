"""HTTP/1.1 request framing (RFC 9112): the request head and how long the
body is, decided before a byte of the body is read.

Pure functions over bytes, so that the rules that keep a hostile request
from confusing the server (smuggling, negative lengths, folded headers) are
in one place and unit-testable without a socket.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

# RFC 9110 5.6.2: a token; methods and header names are tokens.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(rb'HTTP/1\.[01]')
# RFC 9112 7.1: chunk-size is 1*HEXDIG, optionally followed by extensions.
_CHUNK_SIZE = re.compile(rb'([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?')
_DIGITS = re.compile(rb'[0-9]{1,19}')
_CONTROL = re.compile(rb'[\x00-\x08\x0a-\x1f\x7f]')   # all but HTAB
CHUNKED = -1


class HttpError(Exception):
    """A request the server answers itself, in Neutron's error form, and
    after which the connection is closed (its framing can't be trusted)."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message


def bad_request(message: str) -> HttpError:
    return HttpError(400, 'HTTPBadRequest', message)


@dataclass(frozen=True)
class Head:
    method: str
    target: str                      # the raw request-target, latin-1
    version: str                     # HTTP/1.0 or HTTP/1.1
    headers: tuple[tuple[str, str], ...]   # lower-case names, in order

    def get(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ','.join(values) if values else None

    def tokens(self, name: str) -> list[str]:
        return [t.strip().lower() for t in (self.get(name) or '').split(',')
                if t.strip()]


def parse_head(raw: bytes) -> Head:
    """The request line and header fields; `raw` ends before the blank line."""
    line, *fields = raw.split(b'\r\n')
    parts = line.split(b' ')
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise bad_request('Malformed HTTP request line.')
    if not _VERSION.fullmatch(parts[2]):
        raise HttpError(505, 'HTTPVersionNotSupported',
                        'Only HTTP/1.0 and HTTP/1.1 are supported.')
    headers = tuple(_field(f) for f in fields)
    return Head(parts[0].decode('ascii'), parts[1].decode('latin-1'),
                parts[2].decode('ascii'), headers)


def _field(raw: bytes) -> tuple[str, str]:
    # RFC 9112 5.1-5.2: no whitespace before the colon, and obsolete line
    # folding may be rejected with 400.
    name, colon, value = raw.partition(b':')
    if not colon or not _TOKEN.fullmatch(name):
        raise bad_request('Malformed HTTP header field.')
    if _CONTROL.search(value):
        raise bad_request('Control character in an HTTP header field.')
    return name.decode('ascii').lower(), value.strip(b' \t').decode('latin-1')


def body_length(head: Head, max_size: int) -> int:
    """Bytes of body to read, or CHUNKED.  A declared length over
    `max_size` is refused here, before the body is read."""
    coding = head.tokens('transfer-encoding')
    length = head.get('content-length')
    if coding:
        # RFC 9112 6.1: chunked must be the final coding; a request with
        # both framings is how requests are smuggled past a proxy: refuse.
        if coding != ['chunked'] or head.version == 'HTTP/1.0':
            raise bad_request('Unsupported Transfer-Encoding: only chunked '
                              'is accepted.')
        if length is not None:
            raise bad_request('Content-Length and Transfer-Encoding are '
                              'mutually exclusive.')
        return CHUNKED
    if length is None:
        return 0
    # RFC 9112 6.3: a list of identical values may be taken as one value;
    # anything but digits (a sign, hex, spaces inside) is invalid.
    values = {v.strip() for v in length.split(',')}
    value = values.pop()
    if values or not _DIGITS.fullmatch(value.encode('latin-1')):
        raise bad_request(f'Invalid Content-Length: {length[:40]!r}.')
    check_size(int(value), max_size)
    return int(value)


def check_size(size: int, max_size: int) -> None:
    if size > max_size:
        raise HttpError(413, 'HTTPRequestEntityTooLarge',
                        f'Request is too large: the body may be at most '
                        f'{max_size} bytes.')


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (without its CRLF)."""
    match = _CHUNK_SIZE.fullmatch(line)
    if not match:
        raise bad_request('Malformed chunk in a chunked request body.')
    return int(match.group(1), 16)


def split_target(target: str) -> tuple[str, str]:
    """(PATH_INFO, QUERY_STRING) of a request-target, as PEP 3333 wants
    them: the path percent-decoded, both as latin-1 strings of raw bytes."""
    if target.startswith(('http://', 'https://')):     # absolute-form
        rest = target.split('/', 3)
        target = '/' + (rest[3] if len(rest) > 3 else '')
    elif not target.startswith('/'):
        raise bad_request('The request-target must be an absolute path.')
    path, _, query = target.partition('?')
    path = urllib.parse.unquote_to_bytes(path.encode('latin-1'))\
        .decode('latin-1')
    return path, query


def keep_alive(head: Head) -> bool:
    """HTTP/1.1 keeps the connection by default, HTTP/1.0 only when asked."""
    connection = head.tokens('connection')
    if head.version == 'HTTP/1.0':
        return 'keep-alive' in connection
    return 'close' not in connection


def expects_continue(head: Head) -> bool:
    return head.version == 'HTTP/1.1' and \
        head.tokens('expect') == ['100-continue']
