"""The framing rules of the HTTP front and the JSON body rules, as pure
functions: what a request may declare, and what a body may hold."""
from __future__ import annotations

import pytest

from kaon import exceptions as exc
from kaon.api.body import parse_json
from kaon.service import framing
from kaon.service.framing import CHUNKED, HttpError, body_length, parse_head

LIMIT = 1000


def head(*fields: str, version: str = 'HTTP/1.1') -> framing.Head:
    lines = [f'POST /v2.0/networks?a=b {version}', *fields]
    return parse_head('\r\n'.join(lines).encode())


@pytest.mark.parametrize('fields,length', [
    ((), 0),
    (('Content-Length: 12',), 12),
    (('Content-Length: 12, 12',), 12),
    (('Transfer-Encoding: chunked',), CHUNKED),
    (('transfer-encoding: Chunked',), CHUNKED),
])
def test_body_length(fields, length):
    assert body_length(head(*fields), LIMIT) == length


@pytest.mark.parametrize('fields', [
    ('Content-Length: -1',), ('Content-Length: +1',), ('Content-Length: 1 2',),
    ('Content-Length: 0x1',), ('Content-Length: 1, 2',),
    ('Content-Length:',), ('Content-Length: 99999999999999999999',),
    ('Transfer-Encoding: gzip',), ('Transfer-Encoding: chunked, gzip',),
    ('Transfer-Encoding: chunked', 'Content-Length: 3'),
])
def test_invalid_framing_is_400(fields):
    with pytest.raises(HttpError) as err:
        body_length(head(*fields), LIMIT)
    assert err.value.status == 400


def test_chunked_needs_http_1_1():
    with pytest.raises(HttpError):
        body_length(head('Transfer-Encoding: chunked', version='HTTP/1.0'),
                    LIMIT)


def test_declared_length_over_the_limit_is_413():
    with pytest.raises(HttpError) as err:
        body_length(head(f'Content-Length: {LIMIT + 1}'), LIMIT)
    assert (err.value.status, err.value.type) == \
        (413, 'HTTPRequestEntityTooLarge')


@pytest.mark.parametrize('raw', [
    b'GET /\r\nHost: x', b'GET / HTTP/2.0', b'G(T / HTTP/1.1',
    b'GET / HTTP/1.1\r\nHost : x', b'GET / HTTP/1.1\r\n folded: x',
    b'GET / HTTP/1.1\r\nX: a\x00b',
])
def test_malformed_heads_are_refused(raw):
    with pytest.raises(HttpError):
        parse_head(raw)


@pytest.mark.parametrize('line,size', [(b'0', 0), (b'1f', 31),
                                       (b'A;ext=1', 10)])
def test_chunk_size(line, size):
    assert framing.chunk_size(line) == size


@pytest.mark.parametrize('line', [b'', b'-1', b'x', b'1' * 17])
def test_bad_chunk_size(line):
    with pytest.raises(HttpError):
        framing.chunk_size(line)


def test_split_target_decodes_the_path_only():
    assert framing.split_target('/v2.0/a%20b?name=a%20b') == \
        ('/v2.0/a b', 'name=a%20b')
    assert framing.split_target('http://h:1/v2.0?x=1') == ('/v2.0', 'x=1')
    with pytest.raises(HttpError):
        framing.split_target('v2.0')


@pytest.mark.parametrize('raw', [
    b'{"a": "\\ud800"}', b'{"\\udc00": 1}', b'{"a": ["\\ud800x"]}',
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}',
    b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}',
    b'{"a": ' + b'[' * 40 + b']' * 40 + b'}',
    b'[' * 100000 + b']' * 100000,
    b'[]', b'"x"', b'{', b'',
])
def test_bodies_json_does_not_allow_are_400(raw):
    with pytest.raises((exc.MalformedRequestBody, exc.HTTPBadRequest)):
        parse_json(raw, 'application/json')


def test_a_plain_body_parses_with_exact_integers():
    assert parse_json(b'{"a": [1, 2.5, "\\ud83d\\ude00", 10000000000000000'
                      b'0000001]}', None) == \
        {'a': [1, 2.5, '\U0001f600', 100000000000000000000001]}


@pytest.mark.parametrize('content_type', [
    'application/json', 'application/json; charset=UTF-8',
    'application/vnd.openstack+json'])
def test_json_content_types_are_accepted(content_type):
    assert parse_json(b'{}', content_type) == {}


@pytest.mark.parametrize('content_type', [
    'text/plain', 'application/x-www-form-urlencoded',
    'application/json; charset=latin-1'])
def test_other_content_types_are_400(content_type):
    with pytest.raises(exc.HTTPBadRequest):
        parse_json(b'{}', content_type)
