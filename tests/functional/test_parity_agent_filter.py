"""`agent_type` filters match case-insensitively, as on Neutron's MySQL
(neutron-tempest-plugin asks for agent_type=DHCP Agent), on SQLite and
on PostgreSQL alike; other agent filters stay exact."""
from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from kaon.db.engine import Database
from kaon.plugin.core import Plugin
from tests.support.rest import Api
from tests.support.server import KaonServer


@pytest.fixture(params=['sqlite', pytest.param(
    'postgres', marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[Api, str]]:
    """A server and the URL of its database."""
    if request.param == 'postgres':
        pg = request.getfixturevalue('pg_cluster')
        url = pg.create_database('kaon_' + uuid.uuid4().hex[:12])
        srv = KaonServer(db_url=url)
    else:
        srv = KaonServer()
        url = 'sqlite:///' + os.path.join(srv.state, 'kaon.sqlite')
    with srv:
        yield Api(srv.url), url


def _report(url: str, agent_type: str, host: str) -> None:
    """An agent's heartbeat, written by the plugin's own report_state."""
    db = Database(url)
    try:
        Plugin(db).report_state({
            'binary': 'neutron-dhcp-agent', 'host': host,
            'topic': 'dhcp_agent', 'agent_type': agent_type,
            'configurations': {}, 'start_flag': True})
    finally:
        db.dispose()


def test_agent_type_filter_ignores_case(backend):
    api, url = backend
    _report(url, 'DHCP agent', 'host-a')
    _report(url, 'DHCP agent', 'host-b')
    _report(url, 'Open vSwitch agent', 'host-a')
    for spelling in ('DHCP agent', 'DHCP Agent', 'dhcp AGENT'):
        found = api.list('agents', {'agent_type': spelling})
        assert sorted(a['host'] for a in found) == ['host-a', 'host-b']
        assert {a['agent_type'] for a in found} == {'DHCP agent'}
    found = api.list('agents', {'agent_type': ['dhcp agent',
                                               'OPEN VSWITCH AGENT']})
    assert len(found) == 3
    found = api.list('agents', {'agent_type': 'DHCP Agent',
                                'host': 'host-b'})
    assert [a['host'] for a in found] == ['host-b']
    # Not a pattern, not a prefix, and the host filter stays exact.
    for nothing in ({'agent_type': 'DHCP%'}, {'agent_type': 'DHCP'},
                    {'agent_type': 'DHCP_agent'}, {'agent_type': ''},
                    {'host': 'HOST-A'}):
        assert api.list('agents', nothing) == [], nothing
