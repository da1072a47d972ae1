"""Hostile HTTP against a real server, in both serving modes.

What a hostile or broken client sends -- bodies JSON does not allow, bad
framing, oversized or chunked bodies, connections that stall mid-request --
must get a 4xx NeutronError at once and must not slow anyone else down.
Malformed requests go over raw loopback sockets, as no HTTP library would
send them.  `server` is the session's one-process server (api_workers = 1);
`gunicorn_server` forks two gunicorn workers (api_workers = 2).
"""
from __future__ import annotations

import json
import socket
import statistics
import time
from typing import Iterator

import pytest
import requests

from tests.support.rest import Api, unique
from tests.support.server import KaonServer

MODES = ['server', 'gunicorn_server']
STALLED = 64
NORMAL = 20


@pytest.fixture(scope='module')
def gunicorn_server() -> Iterator[KaonServer]:
    with KaonServer(workers=2) as srv:
        yield srv


@pytest.fixture(params=MODES, ids=['one-process', 'gunicorn-2-workers'])
def any_server(request: pytest.FixtureRequest) -> KaonServer:
    return request.getfixturevalue(request.param)


def exchange(srv: KaonServer, data: bytes, timeout: float = 5.0
             ) -> tuple[int, dict[str, str], bytes, float]:
    """Send raw bytes, read the answer until the server closes; returns
    (status, headers, body, seconds it took)."""
    start = time.monotonic()
    with socket.create_connection(('127.0.0.1', srv.port),
                                  timeout=timeout) as sock:
        sock.sendall(data)
        received = b''
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b'\r\n\r\n')
    status_line, *fields = head.decode('latin-1').split('\r\n')
    headers = {k.strip().lower(): v.strip()
               for k, v in (f.split(':', 1) for f in fields)}
    return int(status_line.split()[1]), headers, body, \
        time.monotonic() - start


def neutron_error(headers: dict[str, str], body: bytes) -> dict[str, str]:
    assert headers.get('content-type', '').startswith('application/json'), \
        (headers, body[:300])
    err = json.loads(body)['NeutronError']
    assert set(err) == {'type', 'message', 'detail'}, err
    return err


def post_raw(api: Api, path: str, text: str) -> requests.Response:
    """POST JSON text as written (json.dumps would escape it otherwise)."""
    return api.post(path, data=text.encode(),
                    headers={'Content-Type': 'application/json'})


# --------------------------------------------------------------------------
# Bodies that are not JSON, or not JSON kaon can hold
# --------------------------------------------------------------------------

@pytest.mark.parametrize('template', [
    '{{"network": {{"name": "{name}", "description": "\\ud800"}}}}',
    '{{"network": {{"name": "{name}\\udc00"}}}}',
    '{{"network": {{"name": "{name}", "\\ud800": 1}}}}',
    '{{"network": {{"name": "{name}", "tags": ["a\\udfff"]}}}}',
], ids=['value', 'low-surrogate', 'key', 'in-a-list'])
def test_lone_surrogate_anywhere_in_a_body_is_400(api, template):
    name = unique()
    resp = post_raw(api, '/v2.0/networks', template.format(name=name))
    api.error(resp, 400, 'MalformedRequestBody')
    assert api.list('networks', {'name': name}) == []


def test_surrogate_encoded_as_utf8_bytes_is_400(api):
    """CESU-style bytes ED A0 80: invalid UTF-8, though Python's json
    module decodes them to a lone surrogate."""
    name = unique()
    body = b'{"network": {"name": "%s\xed\xa0\x80"}}' % name.encode()
    resp = api.post('/v2.0/networks', data=body,
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 400, 'MalformedRequestBody')
    assert api.list('networks', {'name': name}) == []


def test_invalid_utf8_in_the_query_string_is_400(api):
    api.error(api.get('/v2.0/networks?name=%ED%A0%80'), 400)


@pytest.mark.parametrize('depth', [1000, 50000])
def test_deeply_nested_json_is_400(api, depth):
    name = unique()
    text = ('{"network": {"name": "%s", "description": %s%s}}'
            % (name, '[' * depth, ']' * depth))
    api.error(post_raw(api, '/v2.0/networks', text), 400,
              'MalformedRequestBody')
    assert api.list('networks', {'name': name}) == []


@pytest.mark.parametrize('number', ['NaN', 'Infinity', '-Infinity', '1e400',
                                    '-1e400'])
def test_non_finite_numbers_are_400(api, number):
    name = unique()
    text = '{"network": {"name": "%s", "mtu": %s}}' % (name, number)
    api.error(post_raw(api, '/v2.0/networks', text), 400)
    assert api.list('networks', {'name': name}) == []


def test_infinite_quota_is_400(api, project):
    text = '{"quota": {"port": 1e400}}'
    api.error(api.put(f'/v2.0/quotas/{project}', data=text.encode(),
                      headers={'Content-Type': 'application/json'}), 400)


@pytest.mark.parametrize('content_type', [
    'text/plain', 'application/x-www-form-urlencoded',
    'application/json; charset=latin-1'])
def test_unsupported_content_type_is_400(api, content_type):
    name = unique()
    resp = api.post('/v2.0/networks',
                    data=json.dumps({'network': {'name': name}}),
                    headers={'Content-Type': content_type})
    api.error(resp, 400, message='Content-Type')
    assert api.list('networks', {'name': name}) == []


# --------------------------------------------------------------------------
# Framing: Content-Length, chunked bodies, the size limit
# --------------------------------------------------------------------------

@pytest.mark.parametrize('length', ['-1', '+5', '0x10', '1 2', '5, 6'])
def test_invalid_content_length_is_400_at_once(any_server, length):
    status, headers, body, took = exchange(any_server, (
        f'POST /v2.0/networks HTTP/1.1\r\nHost: kaon\r\n'
        f'Content-Type: application/json\r\nContent-Length: {length}\r\n'
        f'\r\n{{}}').encode())
    assert status == 400, body
    assert neutron_error(headers, body)['type'] == 'HTTPBadRequest'
    assert took < 1.0, took


def test_chunked_body_creates_the_network_it_names(any_server):
    api = Api(any_server.url)
    name = unique()
    text = json.dumps({'network': {'name': name}}).encode()
    # A generator makes requests send Transfer-Encoding: chunked.
    resp = api.post('/v2.0/networks',
                    data=(text[i:i + 7] for i in range(0, len(text), 7)),
                    headers={'Content-Type': 'application/json'})
    assert api.ok(resp, 201)['network']['name'] == name
    assert [n['name'] for n in api.list('networks', {'name': name})] == \
        [name]


def test_body_over_the_limit_is_413_neutron_error(any_server):
    api = Api(any_server.url)
    name = unique()
    body = json.dumps({'network': {'name': name,
                                   'description': 'x' * 1024 * 1024}})
    resp = api.post('/v2.0/networks', data=body,
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 413, 'HTTPRequestEntityTooLarge')
    assert api.list('networks', {'name': name}) == []


def test_chunked_body_over_the_limit_is_413(any_server):
    """The limit counts what a chunked body really carries."""
    api = Api(any_server.url)
    name = unique()
    text = json.dumps({'network': {'name': name,
                                   'description': 'x' * 300 * 1024}})
    chunks = (text[i:i + 8192].encode() for i in range(0, len(text), 8192))
    resp = api.post('/v2.0/networks', data=chunks,
                    headers={'Content-Type': 'application/json'})
    api.error(resp, 413, 'HTTPRequestEntityTooLarge')
    assert api.list('networks', {'name': name}) == []


def test_declared_oversize_body_is_refused_before_it_is_sent(any_server):
    """With Expect: 100-continue (what curl sends) the answer comes
    without the client sending its 10 MB."""
    status, headers, body, took = exchange(any_server, (
        'POST /v2.0/networks HTTP/1.1\r\nHost: kaon\r\n'
        'Content-Type: application/json\r\nExpect: 100-continue\r\n'
        f'Content-Length: {10 * 1024 * 1024}\r\n\r\n').encode())
    assert status == 413, body
    assert neutron_error(headers, body)['type'] == \
        'HTTPRequestEntityTooLarge'
    assert took < 1.0, took


# --------------------------------------------------------------------------
# Clients that stall
# --------------------------------------------------------------------------

def stall(srv: KaonServer, count: int) -> list[socket.socket]:
    """`count` connections that stop mid-request: half after a partial
    head, half after the head and the first bytes of a promised body."""
    socks = []
    for i in range(count):
        sock = socket.create_connection(('127.0.0.1', srv.port), timeout=5)
        socks.append(sock)
        if i % 2:
            sock.sendall(b'POST /v2.0/networks HTTP/1.1\r\nHost: kaon\r\n'
                         b'Content-Type: application/json\r\n'
                         b'Content-Length: 1000\r\n\r\n{"network": ')
        else:
            sock.sendall(b'GET /v2.0/networks HTTP/1.1\r\nHost: kaon\r\n')
    return socks


def test_stalled_clients_do_not_starve_the_api(any_server):
    """64 stalled connections (four times api_threads) open; 20 normal
    requests, each on a new connection, each answered in under a second."""
    url = any_server.url + '/v2.0/networks?name=' + unique()
    socks = stall(any_server, STALLED)
    took = []
    try:
        for _ in range(NORMAL):
            start = time.monotonic()
            resp = requests.get(url, timeout=3)
            took.append(time.monotonic() - start)
            assert resp.status_code == 200, resp.text
            assert took[-1] < 1.0, took
    finally:
        for sock in socks:
            sock.close()
    print(f'\n{STALLED} stalled: GET /v2.0/networks median '
          f'{statistics.median(took) * 1000:.1f} ms, max '
          f'{max(took) * 1000:.1f} ms')


@pytest.fixture(scope='module')
def short_deadline_server() -> Iterator[KaonServer]:
    with KaonServer(options={'client_socket_timeout': 1}) as srv:
        yield srv


@pytest.mark.parametrize('trickle', [False, True],
                         ids=['silent', 'one-byte-at-a-time'])
def test_a_request_not_sent_within_the_deadline_is_cut_off(
        short_deadline_server, trickle):
    """client_socket_timeout bounds the whole request, so a client that
    keeps sending a byte now and then (slowloris) is closed as surely as
    one that sends nothing: its socket is not held for good."""
    head = (b'POST /v2.0/networks HTTP/1.1\r\nHost: kaon\r\n'
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n')
    start = time.monotonic()
    with socket.create_connection(('127.0.0.1', short_deadline_server.port),
                                  timeout=0.2) as sock:
        sock.sendall(head)
        closed = False
        while not closed and time.monotonic() - start < 6:
            if trickle:
                sock.sendall(b' ')
            try:
                closed = sock.recv(1024) == b''
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
    took = time.monotonic() - start
    assert closed, f'still open after {took:.1f} s'
    assert took < 3, took
