"""Tempest's network API selection against kaon, as a cloud runs it.

The selection (include-list.txt, exclude-list.txt here) is the one real
Neutron 29 is measured on: with tempest 47.0.0 and neutron-tempest-plugin
3.3.0 it resolves to the 402 ids of selected-tests.txt, of which Neutron
passes 374.  Tempest runs with dynamic credentials (a fresh project and
users per test class) against kaon behind Keystone, with two live DHCP
agents (conftest.py), at concurrency 2.

The results (passed ids; failed ids with their exception; skipped ids with
the reason; class-level errors) are written as JSON to the test's tmp dir
and, if $KAON_TEMPEST_RESULTS names a file, there too.  The README explains
each failure and skip that remains.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.keystone_cloud import Cloud
from tests.support.tempest import (
    TEMPEST_DIR,
    Results,
    Workspace,
    tempest_config,
)
from tests.tempest.conftest import DhcpAgents

# Real Neutron 29 passes 374; kaon passes 379 (issue 12's segments: VXLAN
# project networks, VLAN provider networks), so three tests of slack
# against a flaky run on a loaded machine, none against a lost feature.
MIN_PASSED = 376
CONCURRENCY = 2
RUN_TIMEOUT = 45 * 60
INCLUDE = os.path.join(TEMPEST_DIR, 'include-list.txt')
EXCLUDE = os.path.join(TEMPEST_DIR, 'exclude-list.txt')
SELECTED = os.path.join(TEMPEST_DIR, 'selected-tests.txt')

pytestmark = [pytest.mark.slow, pytest.mark.timeout(RUN_TIMEOUT + 600)]


def _selected() -> list[str]:
    with open(SELECTED) as f:
        return sorted(line.strip() for line in f if line.strip())


def _save(results: Results, tmp_path: Path, seconds: float) -> Path:
    """The results as JSON in tmp_path, and at $KAON_TEMPEST_RESULTS."""
    path = tmp_path / 'tempest-results.json'
    path.write_text(json.dumps({**results.as_json(),
                                'seconds': round(seconds)}, indent=1))
    copy = os.environ.get('KAON_TEMPEST_RESULTS')
    if copy:
        shutil.copyfile(path, copy)
    print(f'\ntempest results: {path}' + (f' (and {copy})' if copy else ''))
    return path


def test_network_api_selection(tempest_cloud: Cloud, dhcp_agents: DhcpAgents,
                               public_network: str, tmp_path: Path) -> None:
    admin = tempest_cloud.api('admin')
    extensions = [e['alias'] for e in admin.list('extensions')]
    keystone = tempest_cloud.keystone
    workspace = Workspace(str(tmp_path))
    workspace.init()
    workspace.write_config(tempest_config(
        keystone.auth_url, (keystone.admin_user, keystone.admin_password,
                            keystone.admin_project),
        keystone.region, extensions, public_network))
    selected = _selected()
    assert workspace.list_tests(INCLUDE, EXCLUDE) == selected

    began = time.monotonic()
    workspace.run(INCLUDE, EXCLUDE, CONCURRENCY, RUN_TIMEOUT)
    results = workspace.results(selected)
    path = _save(results, tmp_path, time.monotonic() - began)

    counts = results.counts()
    failed = '\n'.join(f'  {t}: {d}' for t, d in
                       results.as_json()['failed'].items())
    assert counts['passed'] >= MIN_PASSED, (
        f'{counts} (at least {MIN_PASSED} must pass); results in {path}, '
        f'console {workspace.console_path}, log {workspace.log_path}; '
        f'failed:\n{failed}')
