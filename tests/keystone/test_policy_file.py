"""policy.yaml overrides Neutron's defaults on the running server.

oslo.policy re-reads the file when its modification time changes, and kaon
looks at most once a second (kaon.policy.enforcer.RELOAD_INTERVAL), so no
restart is needed; the server here runs behind the real Keystone with
`[oslo_policy] policy_file` pointing at the file the test rewrites.
"""
from __future__ import annotations

import subprocess
import sys
import time

import yaml

from kaon.policy import defaults
from tests.support.keystone_cloud import Cloud
from tests.support.rest import unique

MEMBERS_SHARE = '"create_network:shared": "rule:admin_or_project_member"\n'


def _create_shared(cloud: Cloud, who: str):
    return cloud.api(who).post('/v2.0/networks', json={'network': {
        'name': unique('shared'), 'shared': True}})


def _once_reloaded(cloud: Cloud, who: str, status: int):
    """Try until the answer is `status`: the server looks at the file at
    most once a second, so it must within a few."""
    deadline = time.monotonic() + 5
    while True:
        resp = _create_shared(cloud, who)
        if resp.status_code == status or time.monotonic() > deadline:
            return resp
        time.sleep(0.2)


def test_a_changed_policy_file_takes_effect_without_a_restart(
        cloud: Cloud) -> None:
    alice, bob = cloud.api('alice'), cloud.api('bob')
    alice.error(_create_shared(cloud, 'alice'), 403, 'PolicyNotAuthorized')
    try:
        cloud.write_policy(MEMBERS_SHARE)
        net = alice.ok(_once_reloaded(cloud, 'alice', 201), 201)['network']
        assert net['shared'] is True
        # Shared by a member, readable by the other project as any shared
        # network is; still not changeable by it.
        assert bob.show('network', net['id'])['shared'] is True
        bob.error(bob.put(f"/v2.0/networks/{net['id']}", json={
            'network': {'name': 'mine'}}), 403, 'PolicyNotAuthorized')
        # Only the overridden rule changed.
        alice.error(alice.put(f"/v2.0/networks/{net['id']}", json={
            'network': {'router:external': True}}), 403,
            'PolicyNotAuthorized')
    finally:
        cloud.write_policy('{}\n')
    alice.error(_once_reloaded(cloud, 'alice', 403), 403,
                'PolicyNotAuthorized')


def test_policy_sample_lists_the_defaults_as_yaml() -> None:
    out = subprocess.run([sys.executable, '-m', 'kaon.cli.main', 'policy',
                          'sample'], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    # Every rule is a commented-out `"name": "check"` line.
    rules = yaml.safe_load('\n'.join(line[1:] for line in out.splitlines()
                                     if line.startswith('#"')))
    assert rules['create_network:shared'] == 'rule:context_is_admin'
    assert rules['get_agent'] == 'rule:context_is_admin'
    assert 'rule:shared' in rules['get_network']
    assert set(rules) == {rule.name for rule in defaults.list_rules()}
