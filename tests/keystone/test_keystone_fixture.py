"""The Keystone fixture itself: what kaon's authentication tests rely on.

Every check asks the real Keystone (GET /v3/auth/tokens, as the service user
that kaon's auth_token middleware will be) or runs the real openstack CLI.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests

from tests.support.keystone import Keystone

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')


def unique(prefix: str) -> str:
    return f'{prefix}-{uuid.uuid4().hex[:8]}'


class Account:
    def __init__(self, keystone: Keystone, roles=('member',)) -> None:
        self.project = unique('proj')
        self.user = unique('user')
        self.password = uuid.uuid4().hex
        self.ids = keystone.add_project_user(self.project, self.user,
                                             self.password, roles=roles)


@pytest.fixture(scope='module')
def service_token(keystone: Keystone) -> str:
    """A token of a service user, as auth_token would hold it."""
    user, password = unique('svc'), uuid.uuid4().hex
    keystone.add_service_user(user, password)
    return keystone.token(user, password, 'service')


def test_project_users_get_tokens_scoped_to_their_own_projects(
        keystone: Keystone, service_token: str) -> None:
    alice, bob = Account(keystone), Account(keystone)
    assert alice.ids.project_id != bob.ids.project_id
    for account in (alice, bob):
        token = keystone.token(account.user, account.password,
                               account.project)
        body = keystone.validate(token, auth_token=service_token)
        assert body is not None
        assert body['user']['id'] == account.ids.user_id
        assert body['user']['name'] == account.user
        assert body['project']['id'] == account.ids.project_id
        assert body['project']['name'] == account.project
    # Neither can have a token for the other's project.
    with pytest.raises(RuntimeError, match='401'):
        keystone.token(alice.user, alice.password, bob.project)
    with pytest.raises(RuntimeError, match='401'):
        keystone.token(alice.user, 'wrong-password', alice.project)


def test_a_member_token_carries_member_and_the_implied_reader(
        keystone: Keystone, service_token: str) -> None:
    alice = Account(keystone)
    body = keystone.validate(
        keystone.token(alice.user, alice.password, alice.project),
        auth_token=service_token)
    roles = {role['name'] for role in body['roles']}
    assert {'member', 'reader'} <= roles
    assert not roles & {'admin', 'manager', 'service'}


def test_only_the_service_user_may_validate_other_users_tokens(
        keystone: Keystone, service_token: str) -> None:
    alice, bob = Account(keystone), Account(keystone)
    alice_token = keystone.token(alice.user, alice.password, alice.project)
    bob_token = keystone.token(bob.user, bob.password, bob.project)
    resp = requests.get(keystone.auth_url + '/auth/tokens', timeout=30,
                        headers={'X-Auth-Token': service_token,
                                 'X-Subject-Token': alice_token})
    assert resp.status_code == 200, resp.text
    assert resp.json()['token']['user']['id'] == alice.ids.user_id
    resp = requests.get(keystone.auth_url + '/auth/tokens', timeout=30,
                        headers={'X-Auth-Token': bob_token,
                                 'X-Subject-Token': alice_token})
    assert resp.status_code == 403, resp.text


@pytest.mark.parametrize('garbage', [
    'not-a-token',
    'gAAAAABnotreallyafernettoken' + 'A' * 150,
    '',
])
def test_a_garbage_token_fails_validation(
        keystone: Keystone, service_token: str, garbage: str) -> None:
    resp = requests.get(keystone.auth_url + '/auth/tokens', timeout=30,
                        headers={'X-Auth-Token': service_token,
                                 'X-Subject-Token': garbage})
    assert resp.status_code in (401, 404), resp.text
    if garbage:
        assert keystone.validate(garbage, auth_token=service_token) is None


def test_a_revoked_token_fails_validation(
        keystone: Keystone, service_token: str) -> None:
    alice = Account(keystone)
    token = keystone.token(alice.user, alice.password, alice.project)
    other = keystone.token(alice.user, alice.password, alice.project)
    assert keystone.validate(token, auth_token=service_token) is not None
    keystone.revoke(token)
    assert keystone.validate(token, auth_token=service_token) is None
    # Only that token: the user's other one still works.
    assert keystone.validate(other, auth_token=service_token) is not None


def test_an_expired_token_fails_validation_but_a_fresh_one_validates(
        keystone: Keystone, service_token: str) -> None:
    alice = Account(keystone)
    expired = keystone.expired_token(alice.user, alice.password,
                                     alice.project)
    assert keystone.validate(expired, auth_token=service_token) is None
    # It is a real token of Alice's that is past its expiry, not garbage:
    # within the allow_expired window Keystone shows it, expired.
    body = keystone.validate(expired, auth_token=service_token,
                             allow_expired=True)
    assert body is not None
    assert body['user']['id'] == alice.ids.user_id
    assert body['project']['id'] == alice.ids.project_id
    expires = datetime.datetime.fromisoformat(
        body['expires_at'].replace('Z', '+00:00'))
    assert expires < datetime.datetime.now(datetime.timezone.utc)
    fresh = keystone.token(alice.user, alice.password, alice.project)
    assert keystone.validate(fresh, auth_token=service_token) is not None


def test_openstack_cli_issues_a_token_to_a_member(
        keystone: Keystone, service_token: str) -> None:
    alice = Account(keystone)
    proc = subprocess.run(
        [OPENSTACK, 'token', 'issue', '-f', 'json'],
        env=keystone.os_env(alice.user, alice.password, alice.project),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    issued = json.loads(proc.stdout)
    assert issued['project_id'] == alice.ids.project_id
    assert issued['user_id'] == alice.ids.user_id
    body = keystone.validate(issued['id'], auth_token=service_token)
    assert body is not None and body['user']['name'] == alice.user
