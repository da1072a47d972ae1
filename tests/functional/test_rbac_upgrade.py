"""A database from before RBAC keeps its shared networks shared: `kaon db
upgrade` (run by the server fixture) turns the `shared` column into '*'
access_as_shared policies."""
from __future__ import annotations

import datetime
import tempfile
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from kaon.db import migrate
from tests.support.rest import Api
from tests.support.server import KaonServer


def _network(conn: sa.Connection, shared: bool) -> str:
    net_id = str(uuid.uuid4())
    now = datetime.datetime(2026, 1, 1)
    conn.execute(sa.text(
        'INSERT INTO networks (id, project_id, name, status, admin_state_up,'
        ' shared, external, mtu, description, created_at, updated_at,'
        " revision_number) VALUES (:id, 'owner', 'n', 'ACTIVE', 1, :shared,"
        " 0, 1500, '', :now, :now, 0)"),
        {'id': net_id, 'shared': shared, 'now': now})
    return net_id


@pytest.fixture(scope='module')
def old_db() -> Iterator[tuple[str, str, str]]:
    """A SQLite file at 0002_agents with one shared, one private network."""
    with tempfile.TemporaryDirectory(prefix='kt-upgrade-') as tmp:
        url = f'sqlite:///{tmp}/old.sqlite'
        engine = sa.create_engine(url)
        migrate.upgrade(engine, '0002_agents')
        with engine.begin() as conn:
            shared, private = _network(conn, True), _network(conn, False)
        engine.dispose()
        yield url, shared, private


def test_upgrade_keeps_shared_networks_shared(old_db) -> None:
    url, shared, private = old_db
    with KaonServer(db_url=url) as server:
        api = Api(server.url)
        guest = {'X-Project-Id': uuid.uuid4().hex, 'X-Roles': 'member'}
        assert api.show('network', shared, headers=guest)['shared'] is True
        api.error(api.get(f'/v2.0/networks/{private}', headers=guest), 404)
        policies = api.ok(api.get('/v2.0/rbac-policies', params={
            'object_id': [shared, private]}))['rbac_policies']
        assert [(p['object_id'], p['target_tenant'], p['project_id'],
                 p['action']) for p in policies] == \
            [(shared, '*', 'owner', 'access_as_shared')]
        # ...and the upgraded policy unshares it like any other.
        api.update('network', shared, shared=False)
        api.error(api.get(f'/v2.0/networks/{shared}', headers=guest), 404)
