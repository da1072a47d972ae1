"""The `kaon` CLI against a real Keystone: `kaon keystone-register`, the
catalog lookup of the resource commands, and Keystone's failures as one
line each.

Registering changes the catalog every Keystone user sees, so those tests
get a Keystone of their own (`catalog`, this module's) and leave the
session's `keystone` to tests that only log in.  Every command runs as a
real process with the OS_* environment the openstack CLI would use.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any, Iterator

import pytest
import requests

from tests.support.keystone import Keystone
from tests.support.server import KaonServer, free_port


def kaon(env: dict[str, str], *args: str, rc: int = 0
         ) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, '-m', 'kaon.cli.main', *args],
                          env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == rc, (args, proc.returncode, proc.stdout,
                                   proc.stderr)
    return proc


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The failed command's stderr: exactly one `kaon: ...` line."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('kaon: '), proc.stderr
    return lines[0][len('kaon: '):]


def env_of(keystone: Keystone, user: str, password: str, project: str,
           **extra: str) -> dict[str, str]:
    """The openstack CLI's environment for `user`, no KAON_URL."""
    env = keystone.os_env(user, password, project)
    env.pop('KAON_URL', None)
    return dict(env, **extra)


def admin_env(keystone: Keystone, **extra: str) -> dict[str, str]:
    return env_of(keystone, keystone.admin_user, keystone.admin_password,
                  keystone.admin_project, **extra)


def register(keystone: Keystone, *args: str, rc: int = 0
             ) -> list[dict[str, str]] | subprocess.CompletedProcess:
    """`kaon keystone-register ARGS -f json`: its rows, or the failed
    process when rc != 0."""
    proc = kaon(admin_env(keystone), 'keystone-register', *args, '-f',
                'json', rc=rc)
    return json.loads(proc.stdout) if rc == 0 else proc


def actions(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(r['Resource'], r['Name']): r['Action'] for r in rows}


def identity(keystone: Keystone, path: str, **params: Any) -> Any:
    """GET on Keystone's API as its bootstrap admin."""
    resp = keystone.admin_session().get(keystone.auth_url + path,
                                        params=params)
    return resp.json()


def network_services(keystone: Keystone) -> list[dict[str, Any]]:
    return identity(keystone, '/services', type='network')['services']


def endpoints(keystone: Keystone, service_id: str, region: str
              ) -> list[dict[str, Any]]:
    return identity(keystone, '/endpoints', service_id=service_id,
                    region_id=region)['endpoints']


@pytest.fixture(scope='module')
def catalog() -> Iterator[Keystone]:
    """A Keystone whose catalog these tests may change."""
    with Keystone() as ks:
        yield ks


@pytest.fixture(scope='module')
def noauth_kaon() -> Iterator[KaonServer]:
    with KaonServer() as server:
        yield server


# -- keystone-register -------------------------------------------------------
def test_register_twice_gives_one_service_three_endpoints_the_cli_finds(
        catalog: Keystone, noauth_kaon: KaonServer) -> None:
    url = noauth_kaon.url
    first = actions(register(catalog, '--url', url + '/'))
    assert first[('service', 'neutron')] == 'created'
    for interface in ('public', 'internal', 'admin'):
        assert first[('endpoint', f'{interface} {url}')] == 'created'
    assert first[('region', 'RegionOne')] == 'unchanged'   # bootstrap's
    second = actions(register(catalog, '--url', url))
    assert set(second.values()) == {'unchanged'}, second

    services = network_services(catalog)
    assert [(s['name'], s['enabled']) for s in services] == \
        [('neutron', True)]
    assert 'kaon' in services[0]['description']
    found = endpoints(catalog, services[0]['id'], 'RegionOne')
    assert sorted((e['interface'], e['url']) for e in found) == \
        sorted((i, url) for i in ('public', 'internal', 'admin'))

    # The resource commands find kaon in the catalog: no URL given.
    env = admin_env(catalog)
    name = f'kt-net-{uuid.uuid4().hex[:6]}'
    kaon(env, 'network', 'create', name)
    listed = kaon(env, 'network', 'list', '-f', 'value', '-c', 'Name').stdout
    assert name in listed.split()
    seen = requests.get(f'{url}/v2.0/networks', params={'name': name},
                        timeout=30).json()['networks']
    assert len(seen) == 1
    # The internal endpoint, as OS_INTERFACE asks.
    kaon(admin_env(catalog, OS_INTERFACE='internal'), 'network', 'show',
         name)

    # A named endpoint beats the catalog (and the login still happens).
    dead = f'http://127.0.0.1:{free_port()}'
    for run_env, args in ((dict(env, KAON_URL=dead), ()),
                          (env, ('--os-url', dead))):
        proc = kaon(run_env, 'network', 'list', *args, rc=1)
        assert one_line_error(proc).startswith(f'cannot reach the API at '
                                               f'{dead}')


def test_register_updates_changed_urls_and_drops_duplicate_endpoints(
        catalog: Keystone) -> None:
    region = f'kt-region-{uuid.uuid4().hex[:6]}'
    base = ('--url', 'http://10.0.0.5:9696', '--region', region)
    first = actions(register(catalog, *base))
    assert first[('region', region)] == 'created'
    rows = register(catalog, *base, '--internal-url', 'http://192.0.2.7:9696',
                    '--admin-url', 'http://192.0.2.8:9696/')
    changed = actions(rows)
    assert changed[('endpoint', 'public http://10.0.0.5:9696')] == 'unchanged'
    assert changed[('endpoint', 'internal http://192.0.2.7:9696')] == \
        'updated url'
    assert changed[('endpoint', 'admin http://192.0.2.8:9696')] == \
        'updated url'

    # An endpoint registered by hand next to ours is a duplicate.
    service_id = next(r['ID'] for r in rows if r['Resource'] == 'service')
    admin = catalog.admin_session()
    admin.post(catalog.auth_url + '/endpoints', json={'endpoint': {
        'service_id': service_id, 'interface': 'public', 'region_id': region,
        'url': 'http://10.9.9.9:9696'}})
    again = register(catalog, *base, '--internal-url',
                     'http://192.0.2.7:9696', '--admin-url',
                     'http://192.0.2.8:9696')
    public = [r['Action'] for r in again
              if r['Name'].startswith('public ')]
    assert sorted(public) == ['deleted (duplicate)', 'unchanged']
    assert sorted((e['interface'], e['url']) for e in
                  endpoints(catalog, service_id, region)) == [
        ('admin', 'http://192.0.2.8:9696'),
        ('internal', 'http://192.0.2.7:9696'),
        ('public', 'http://10.0.0.5:9696')]
    assert len(network_services(catalog)) == 1


def test_another_network_service_is_refused_not_joined(
        catalog: Keystone) -> None:
    admin = catalog.admin_session()
    name = f'kt-other-{uuid.uuid4().hex[:6]}'
    other = admin.post(catalog.auth_url + '/services', json={'service': {
        'type': 'network', 'name': name}}).json()['service']
    try:
        proc = register(catalog, '--url', 'http://10.0.0.5:9696', rc=1)
        message = one_line_error(proc)
        assert f"already has a network service '{name}'" in message
        assert f'--name {name}' in message
    finally:
        admin.delete(f"{catalog.auth_url}/services/{other['id']}")


def conf_sample(stdout: str, password: str) -> dict[str, dict[str, str]]:
    """The kaon.conf sections keystone-register printed, with the real
    password in place of its placeholder."""
    sections: dict[str, dict[str, str]] = {}
    text = stdout.split('kaon.conf for this account:\n', 1)[1]
    for line in text.splitlines():
        if line.startswith('['):
            current = sections.setdefault(line.strip('[]'), {})
        else:
            key, _, value = line.partition(' = ')
            current[key] = password if key == 'password' else value
    return sections


def test_the_service_account_validates_tokens_with_role_service_only(
        catalog: Keystone, noauth_kaon: KaonServer) -> None:
    user = f'kt-kaon-{uuid.uuid4().hex[:6]}'
    args = ('keystone-register', '--url', noauth_kaon.url, '--service-user',
            user)
    proc = kaon(admin_env(catalog), *args, '--service-password', 'first')
    sample = conf_sample(proc.stdout, 'first')
    assert sample['DEFAULT'] == {'auth_strategy': 'keystone'}
    assert sample['keystone_authtoken']['username'] == user
    # auth_token's default interface (internal) unless Keystone has none.
    interfaces = {e['interface'] for e in identity(
        catalog, '/endpoints', service_id=identity(
            catalog, '/services', type='identity')['services'][0]['id']
    )['endpoints']}
    assert sample['keystone_authtoken'].get('interface', 'internal') == \
        ('internal' if 'internal' in interfaces else 'public')

    user_id = identity(catalog, '/users', name=user)['users'][0]['id']
    granted = identity(catalog, '/role_assignments', include_names='true',
                       **{'user.id': user_id})['role_assignments']
    assert [(a['role']['name'], a['scope']['project']['name'])
            for a in granted] == [('service', 'service')]
    # That is enough to validate other users' tokens (auth_token's job).
    catalog.add_project_user(f'kt-p-{user}', f'kt-u-{user}', 'pw')
    token = catalog.token(f'kt-u-{user}', 'pw', f'kt-p-{user}')
    own = catalog.token(user, 'first', 'service')
    assert catalog.validate(token, auth_token=own) is not None

    again = json.loads(kaon(admin_env(catalog), *args, '--service-password',
                            'second', '-f', 'json').stdout)
    assert actions(again)[('user', user)] == 'updated password'
    assert actions(again)[('role', 'service on the project')] == 'unchanged'
    catalog.token(user, 'second', 'service')
    with pytest.raises(RuntimeError, match='401'):
        catalog.token(user, 'first', 'service')


def test_a_keystone_protected_kaon_with_the_registered_account(
        catalog: Keystone) -> None:
    """The account and kaon.conf lines keystone-register gives make a
    kaon that the CLI uses through the catalog; a CLI without
    credentials gets one line saying how to log in."""
    password = uuid.uuid4().hex
    user = f'kt-kaon-{uuid.uuid4().hex[:6]}'
    args = ('keystone-register', '--service-user', user,
            '--service-password', password)
    proc = kaon(admin_env(catalog), *args, '--url', 'http://10.0.0.5:9696')
    sample = conf_sample(proc.stdout, password)
    server = KaonServer(options=sample['DEFAULT'], sections={
        'keystone_authtoken': sample['keystone_authtoken']})
    url = server.url
    kaon(admin_env(catalog), *args, '--url', url)
    with server:
        env = admin_env(catalog)
        name = f'kt-net-{uuid.uuid4().hex[:6]}'
        kaon(env, 'network', 'create', name)
        assert name in kaon(env, 'network', 'list', '-f', 'value').stdout
        noauth = {k: v for k, v in env.items() if not k.startswith('OS_')}
        message = one_line_error(kaon(dict(noauth, KAON_URL=url), 'network',
                                      'list', rc=1))
        assert message.startswith('The request you have made requires '
                                  'authentication.')
        assert 'set OS_CLOUD' in message


# -- logging in: failures as one line ----------------------------------------
def test_a_wrong_password_is_one_line_and_exit_1(keystone: Keystone) -> None:
    env = env_of(keystone, keystone.admin_user, 'wrong-password',
                 keystone.admin_project)
    for args in (('network', 'list'),
                 ('keystone-register', '--url', 'http://10.0.0.5:9696')):
        message = one_line_error(kaon(env, *args, rc=1))
        assert message.startswith('authentication failed: The request you '
                                  'have made requires authentication. '
                                  '(HTTP 401)'), message


def test_no_network_endpoint_suggests_keystone_register(
        keystone: Keystone) -> None:
    env = admin_env(keystone, OS_REGION_NAME='kt-nowhere')
    message = one_line_error(kaon(env, 'network', 'list', rc=1))
    assert "catalog has no network endpoint (interface public, region " \
           "kt-nowhere)" in message
    assert 'kaon keystone-register --url' in message


def test_an_unreachable_keystone_is_named(keystone: Keystone) -> None:
    dead = f'http://127.0.0.1:{free_port()}/v3'
    env = admin_env(keystone, OS_AUTH_URL=dead)
    message = one_line_error(kaon(env, 'network', 'list', rc=1))
    assert message.startswith(f'cannot reach Keystone at {dead}')


def test_a_token_logs_in_as_openstack_does(keystone: Keystone,
                                           noauth_kaon: KaonServer) -> None:
    """OS_AUTH_TYPE=token with OS_TOKEN, the API named by KAON_URL."""
    token = keystone.token(keystone.admin_user, keystone.admin_password,
                           keystone.admin_project)
    env = {k: v for k, v in admin_env(keystone).items()
           if k not in ('OS_USERNAME', 'OS_PASSWORD', 'OS_USER_DOMAIN_ID')}
    env.update(OS_AUTH_TYPE='token', OS_TOKEN=token,
               KAON_URL=noauth_kaon.url)
    kaon(env, 'network', 'list')
    env['OS_TOKEN'] = 'not-a-token'
    message = one_line_error(kaon(env, 'network', 'list', rc=1))
    assert message.startswith('authentication failed:'), message


def test_register_without_credentials_says_which_to_set() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('OS_') and k != 'KAON_URL'}
    message = one_line_error(kaon(env, 'keystone-register', '--url',
                                  'http://10.0.0.5:9696', rc=1))
    assert message.startswith('no Keystone credentials: set OS_CLOUD')
