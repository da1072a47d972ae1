"""Functional tests: one real `kaon server` per session, spoken to over HTTP.

Every test creates its own resources under unique names, so tests do not
depend on each other or on the order they run in.  The `api` wrapper fails a
test on any 5xx response: no request in this suite may make kaon fail
internally.
"""
from __future__ import annotations

import uuid
from typing import Callable, Iterator

import pytest

from tests.support.postgres import PostgresInstance
from tests.support.rest import Api, unique
from tests.support.server import KaonServer


@pytest.fixture(scope='session')
def server():
    with KaonServer() as srv:
        yield srv


@pytest.fixture(scope='session')
def api(server: KaonServer) -> Api:
    client = Api(server.url)
    # Admin requests without X-Project-Id all land in project 'admin', and
    # the suite makes far more than the default 100 networks there.  Lift
    # that project's limits only; every other project keeps the defaults.
    client.ok(client.put('/v2.0/quotas/admin', json={'quota': {
        'network': -1, 'subnet': -1, 'port': -1}}))
    return client


@pytest.fixture
def member() -> Callable[[str], dict[str, str]]:
    """member(project) -> headers of a non-admin request of that project."""
    def headers(project: str) -> dict[str, str]:
        return {'X-Project-Id': project, 'X-Roles': 'member'}
    return headers


@pytest.fixture
def project() -> str:
    """A fresh project id for tests that act as a non-admin project."""
    return unique('proj')


# The many-clients races (test_concurrency.py, test_quota_race.py) run once
# on SQLite with one server process and once on PostgreSQL with 4 API
# workers.

@pytest.fixture(scope='module')
def pg_cluster() -> Iterator[PostgresInstance]:
    """One private PostgreSQL for the module; each test gets a new database."""
    with PostgresInstance() as pg:
        yield pg


BACKENDS = [
    pytest.param('sqlite', id='sqlite-1-process'),
    pytest.param('postgres', id='postgres-4-workers',
                 marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def conc_server(request: pytest.FixtureRequest) -> Iterator[KaonServer]:
    if request.param == 'postgres':
        pg = request.getfixturevalue('pg_cluster')
        db_url = pg.create_database('kaon_' + uuid.uuid4().hex[:12])
        srv = KaonServer(db_url=db_url, workers=4, quotas={'port': -1})
    else:
        srv = KaonServer(quotas={'port': -1})
    with srv:      # KaonServer.start waits out a busy machine itself
        yield srv
