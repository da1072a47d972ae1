"""Which mode the `kaon` commands pick from which settings, which endpoint
they use, and how Keystone's failures read: kaon.cli.auth without a
Keystone (fakes stand in for openstacksdk's cloud and keystoneauth's
session)."""
from __future__ import annotations

from typing import Any

import pytest
import requests
from keystoneauth1 import exceptions as ks

from kaon.cli import auth
from kaon.cli.client import DEFAULT_URL, ApiError, Client, CliError

CREDENTIALS = {'OS_AUTH_URL': 'http://ks:5000/v3', 'OS_USERNAME': 'alice',
               'OS_PASSWORD': 'pw', 'OS_PROJECT_NAME': 'demo'}


@pytest.mark.parametrize('env, option, expected', [
    ({}, None, False),
    ({'KAON_URL': 'http://kaon:9696'}, None, False),
    ({'OS_REGION_NAME': 'RegionOne'}, None, False),
    ({'OS_CLIENT_CONFIG_FILE': '/x/clouds.yaml', 'OS_CLOUD_NAME': 'x'},
     None, False),
    ({'OS_TEST_TIMEOUT': '60', 'OS_STDOUT_CAPTURE': '1'}, None, False),
    (CREDENTIALS, None, True),
    ({'OS_AUTH_URL': 'http://ks:5000/v3'}, None, True),
    ({'OS_AUTH_TYPE': 'token', 'OS_TOKEN': 't'}, None, True),
    ({'OS_CLOUD': 'prod'}, None, True),
    ({}, 'prod', True),
])
def test_keystone_is_used_when_openstack_would_log_in(env, option, expected):
    assert auth.uses_keystone(auth.cloud_name(option, env), env) is expected


def test_the_option_names_the_cloud_before_the_environment():
    assert auth.cloud_name('a', {'OS_CLOUD': 'b'}) == 'a'
    assert auth.cloud_name(None, {'OS_CLOUD': 'b'}) == 'b'
    assert auth.cloud_name(None, {'OS_CLOUD': ''}) is None


def test_an_explicit_url_is_the_option_then_kaon_url():
    env = {'KAON_URL': 'http://env:9696'}
    assert auth.explicit_url('http://opt:9696', env) == 'http://opt:9696'
    assert auth.explicit_url(None, env) == 'http://env:9696'
    assert auth.explicit_url(None, {}) is None


@pytest.mark.parametrize('url', ['http://net:9696', 'http://net:9696/',
                                 'http://net:9696/v2.0',
                                 'http://net:9696/v2.0/'])
def test_catalog_urls_lose_the_version_the_client_adds(url):
    assert auth.api_root(url) == 'http://net:9696'


@pytest.mark.parametrize('auth_type, creds, lacking', [
    (None, {}, 'OS_PASSWORD'),
    ('password', {'password': ''}, 'OS_PASSWORD'),
    ('v3password', {}, 'OS_PASSWORD'),
    ('token', {}, 'OS_TOKEN'),
    ('v3token', {'token': 't'}, None),
    ('password', {'password': 'pw'}, None),
    ('v3applicationcredential', {}, None),
])
def test_a_missing_secret_is_named(auth_type, creds, lacking):
    found = auth.missing_secret(auth_type, creds)
    assert (found is None) if lacking is None else found.startswith(lacking)


# -- Keystone's exceptions as one line ---------------------------------------
@pytest.mark.parametrize('err, expected', [
    (ks.ConnectFailure('Unable to establish connection ... [Errno 111]'),
     'cannot reach Keystone at http://ks:5000/v3: is it running'),
    (ks.ConnectTimeout('timed out'), 'cannot reach Keystone at'),
    (ks.DiscoveryFailure('Could not find versioned identity endpoints'),
     'no Keystone API found at http://ks:5000/v3'),
    (ks.Unauthorized('The request you have made requires authentication.'),
     'authentication failed: The request you have made requires '
     'authentication. (HTTP 401)'),
    (ks.BadRequest('Expecting to find domain in project.'),
     'authentication failed: Expecting to find domain'),
    (ks.SSLError('certificate verify failed'),
     'Keystone at http://ks:5000/v3: certificate verify failed'),
    (ks.EmptyCatalog('The service catalog is empty.'),
     "Keystone's catalog: The service catalog is empty."),
])
def test_keystone_errors_are_one_line(err, expected):
    message = str(auth.keystone_error(err, 'http://ks:5000/v3'))
    assert message.startswith(expected)
    assert '\n' not in message


def test_keystone_errors_context_turns_them_into_cli_errors():
    with pytest.raises(CliError, match='^authentication failed'):
        with auth.keystone_errors('http://ks:5000/v3'):
            raise ks.Unauthorized('no')


# -- fakes of openstacksdk's CloudRegion and keystoneauth's Session ----------
class FakeCloud:
    def __init__(self, override: str | None = None,
                 interface: str | None = None, region: str = '') -> None:
        self.override = override
        self.interface = interface
        self.region = region
        self.config = {'auth': {'auth_url': 'http://ks:5000/v3'}}

    def get_endpoint(self, service_type: str) -> str | None:
        return self.override

    def get_interface(self, service_type: str) -> str | None:
        return self.interface

    def get_region_name(self, service_type: str) -> str:
        return self.region


class FakeSession:
    """A logged-in keystoneauth Session with a catalog of `endpoints`
    ((interface, region) -> URL) whose requests answer `response` or
    raise it."""

    def __init__(self, endpoints: dict[tuple[str, str | None], str] | None
                 = None, response: Any = None) -> None:
        self.endpoints = endpoints or {}
        self.response = response
        self.timeout = None
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def get_auth_headers(self) -> dict[str, str]:
        return {'X-Auth-Token': 'tok'}

    def get_endpoint(self, service_type: str, interface: str,
                     region_name: str | None) -> str:
        try:
            return self.endpoints[(interface, region_name)]
        except KeyError:
            # keystoneauth's own error, as the real session raises it
            raise ks.EndpointNotFound(f'{interface} endpoint for '
                                      f'{service_type} service not found'
                                      ) from None

    def request(self, url: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((url, method, kwargs))
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def test_the_catalog_gives_the_configured_interface_and_region():
    session = FakeSession({('public', None): 'http://pub:9696/',
                           ('internal', 'R2'): 'http://int:9696/v2.0'})
    assert auth.catalog_url(FakeCloud(), session) == 'http://pub:9696/'
    assert auth.catalog_url(FakeCloud(interface='internal', region='R2'),
                            session) == 'http://int:9696/v2.0'


def test_a_clouds_yaml_endpoint_override_beats_the_catalog():
    cloud = FakeCloud(override='http://fixed:9696')
    assert auth.catalog_url(cloud, FakeSession()) == 'http://fixed:9696'


def test_no_network_endpoint_suggests_keystone_register():
    with pytest.raises(CliError) as err:
        auth.catalog_url(FakeCloud(region='R9'), FakeSession())
    message = str(err.value)
    assert 'no network endpoint (interface public, region R9)' in message
    assert 'kaon keystone-register --url' in message


# -- which client the commands get -------------------------------------------
def test_without_credentials_the_client_is_plain_requests(monkeypatch):
    monkeypatch.setattr(auth, 'load_cloud', pytest.fail)
    client = auth.client(None, None, env={})
    assert isinstance(client.session, requests.Session)
    assert client.url == DEFAULT_URL
    assert auth.client(None, None, env={'KAON_URL': 'http://k:1/'}
                       ).url == 'http://k:1'
    assert auth.client('http://opt:2', None, env={'KAON_URL': 'http://k:1'}
                       ).url == 'http://opt:2'


def logged_in(monkeypatch, session: FakeSession) -> list[str | None]:
    """auth.client's openstacksdk and keystoneauth parts replaced by the
    fakes; the list receives the cloud name asked for."""
    asked: list[str | None] = []

    def load_cloud(name: str | None) -> FakeCloud:
        asked.append(name)
        return FakeCloud()
    monkeypatch.setattr(auth, 'load_cloud', load_cloud)
    monkeypatch.setattr(auth, 'login', lambda cloud: session)
    return asked


def test_with_credentials_the_catalog_names_the_api(monkeypatch):
    asked = logged_in(monkeypatch, FakeSession(
        {('public', None): 'http://catalog:9696/'}))
    client = auth.client(None, None, env=CREDENTIALS)
    assert client.url == 'http://catalog:9696'
    assert isinstance(client.session, auth.KeystoneHttp)
    assert asked == [None]


def test_an_explicit_url_beats_the_catalog_but_still_logs_in(monkeypatch):
    session = FakeSession({('public', None): 'http://catalog:9696'})
    asked = logged_in(monkeypatch, session)
    client = auth.client(None, 'prod', env={'KAON_URL': 'http://mine:1'})
    assert client.url == 'http://mine:1'
    assert client.session.session is session
    assert asked == ['prod']


class Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.content = body
        self.text = body.decode()
        self.reason = 'Unauthorized'

    def json(self) -> Any:
        import json
        return json.loads(self.text)


def test_keystone_http_calls_keystoneauth_without_raising():
    session = FakeSession(response=Response(200, b'{"networks": []}'))
    client = Client('http://k:9696', session=auth.KeystoneHttp(session, None))
    assert client.list('networks') == []
    url, method, kwargs = session.calls[0]
    assert (url, method) == ('http://k:9696/v2.0/networks', 'GET')
    assert kwargs['raise_exc'] is False


def test_a_401_from_kaon_is_one_line_with_what_to_do():
    body = (b'{"error": {"code": 401, "title": "Unauthorized", "message": '
            b'"The request you have made requires authentication."}}')
    session = FakeSession(response=Response(401, body))
    client = Client('http://k:9696', session=auth.KeystoneHttp(session, None),
                    unauthorized_hint=auth.NOAUTH_HINT)
    with pytest.raises(ApiError) as err:
        client.list('networks')
    assert err.value.status == 401
    assert err.value.type == 'Unauthorized'
    assert str(err.value) == ('The request you have made requires '
                              f'authentication. ({auth.NOAUTH_HINT})')


def test_an_unreachable_api_is_still_the_clients_message():
    session = FakeSession(response=ks.ConnectFailure('refused'))
    client = Client('http://k:9696', session=auth.KeystoneHttp(session, None))
    with pytest.raises(CliError, match='^cannot reach the API at '
                                       'http://k:9696: is `kaon server`'):
        client.list('networks')
