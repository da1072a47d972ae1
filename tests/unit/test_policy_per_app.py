"""Each app owns its policy: two apps in one process, each with its own
configuration, answer by their own rules (no process-wide Enforcer)."""
from __future__ import annotations

import pathlib

import pytest
from oslo_config import cfg
from oslo_policy import opts as policy_opts

from kaon import conf
from kaon.context import Context
from kaon.policy import enforcer

ALICE = Context(project_id='p-alice', roles=('member', 'reader'))
OWN = {'project_id': 'p-alice', 'tenant_id': 'p-alice'}


def _conf_with(policy_file: pathlib.Path) -> cfg.ConfigOpts:
    own = cfg.ConfigOpts()
    own(args=[], default_config_files=[], default_config_dirs=[])
    for group, opts in policy_opts.list_opts():
        own.register_opts(opts, group=group)
    own.set_override('policy_file', str(policy_file), group='oslo_policy')
    return own


@pytest.fixture
def two(tmp_path: pathlib.Path) -> tuple[enforcer.Policy, enforcer.Policy]:
    conf.load()
    members_share = tmp_path / 'policy.yaml'
    members_share.write_text(
        '"create_network:shared": "rule:admin_or_project_member"\n')
    return enforcer.Policy(), enforcer.Policy(_conf_with(members_share))


def test_two_apps_in_one_process_keep_their_own_rules(
        two: tuple[enforcer.Policy, enforcer.Policy]) -> None:
    defaults, members_share = two
    with enforcer.serving(members_share):
        assert enforcer.allowed(ALICE, 'create_network:shared', OWN)
        with enforcer.serving(defaults):
            assert not enforcer.allowed(ALICE, 'create_network:shared', OWN)
        assert enforcer.allowed(ALICE, 'create_network:shared', OWN)
    assert not defaults.allowed(ALICE, 'create_network:shared', OWN)
