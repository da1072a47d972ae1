"""The `openstack` CLI with password auth against kaon behind Keystone.

The CLI authenticates at Keystone, finds kaon in the catalog as the
`network` service and sends the user's token; each user sees only its own
project's networks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.keystone_cloud import Cloud
from tests.support.rest import unique

# The CLI installed beside the interpreter running the tests (kaon's venv).
OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')


def openstack(cloud: Cloud, who: str, *args: str,
              check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSTACK, *args], env=cloud.os_env(who),
                          capture_output=True, text=True, check=check,
                          timeout=120)


@pytest.fixture(scope='module')
def created(cloud: Cloud) -> dict[str, dict]:
    """A network per member, made with `openstack network create`."""
    nets = {}
    for who in ('alice', 'bob'):
        out = openstack(cloud, who, 'network', 'create', unique(who),
                        '-f', 'json').stdout
        nets[who] = json.loads(out)
    return nets


@pytest.mark.parametrize('who,other', [('alice', 'bob'), ('bob', 'alice')])
def test_each_user_lists_only_its_own_networks(cloud: Cloud, created: dict,
                                                who: str, other: str) -> None:
    assert created[who]['project_id'] == cloud.people[who].project_id
    listed = json.loads(openstack(cloud, who, 'network', 'list', '-f',
                                  'json').stdout)
    names = {n['Name'] for n in listed}
    assert created[who]['name'] in names
    assert created[other]['name'] not in names
    hidden = openstack(cloud, who, 'network', 'show', created[other]['id'],
                       check=False)
    assert hidden.returncode != 0
    assert 'No Network found' in hidden.stderr


def test_a_wrong_password_is_refused_by_keystone(cloud: Cloud) -> None:
    env = cloud.os_env('alice')
    env['OS_PASSWORD'] = 'wrong'
    result = subprocess.run([OPENSTACK, 'network', 'list'], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'HTTP 401' in result.stderr
