"""Functional tests: one real `kaon server` per session, spoken to over HTTP.

Every test creates its own resources under unique names, so tests do not
depend on each other or on the order they run in.  The `api` wrapper fails a
test on any 5xx response: no request in this suite may make kaon fail
internally.
"""
from __future__ import annotations

from typing import Callable

import pytest

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
