"""Tests against a real OpenStack Keystone (the session's `keystone`
fixture, tests/conftest.py).  `cloud` is kaon behind it
(tests/support/keystone_cloud.py), in the catalog as the `network` service.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from kaon.db.engine import Database
from kaon.plugin.core import Plugin
from tests.support.keystone import Keystone
from tests.support.keystone_cloud import Cloud


@pytest.fixture(scope='session')
def cloud(keystone: Keystone) -> Iterator[Cloud]:
    with Cloud(keystone) as c:
        c.register_in_catalog()
        yield c


@pytest.fixture(scope='session')
def agent(cloud: Cloud) -> dict:
    """A DHCP agent's row, written by the plugin's own report_state on the
    server's database (no dnsmasq needed to be an agent the API lists)."""
    db = Database('sqlite:///' + os.path.join(cloud.server.state,
                                              'kaon.sqlite'))
    try:
        Plugin(db).report_state({
            'binary': 'neutron-dhcp-agent', 'host': f'kt-host-{cloud.tag}',
            'topic': 'dhcp_agent', 'agent_type': 'DHCP agent',
            'configurations': {}, 'start_flag': True})
    finally:
        db.dispose()
    admin = cloud.api('admin')
    return admin.list('agents', params={'host': f'kt-host-{cloud.tag}'})[0]
