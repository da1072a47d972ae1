"""A project's first requests race to create its `default` security group:
16 clients, first uses of every kind at once (list groups, list rules,
create a group, a network), and still one default group with its four
rules; and the security group quota holds under the same race.  On SQLite
with one server process and on PostgreSQL with 4 API workers
(conftest.py's `conc_server`)."""
from __future__ import annotations

import itertools
import uuid

import pytest
import requests

from tests.functional.test_concurrency import (
    Result,
    concurrently,
    server_log,
    tally,
)
from tests.support.server import KaonServer

TIMEOUT = 60
pytestmark = pytest.mark.slow


def _headers(project: str) -> dict[str, str]:
    return {'X-Project-Id': project, 'X-Roles': 'member'}


def _first_use(srv: KaonServer, session: requests.Session,
               job: tuple[str, int]) -> Result:
    project, kind = job
    url, headers = srv.url + '/v2.0/', _headers(project)
    if kind == 0:
        resp = session.get(url + 'security-groups', headers=headers,
                           timeout=TIMEOUT)
    elif kind == 1:
        resp = session.get(url + 'security-group-rules', headers=headers,
                           timeout=TIMEOUT)
    elif kind == 2:
        resp = session.post(url + 'security-groups', headers=headers,
                            json={'security_group': {'name': 'g'}},
                            timeout=TIMEOUT)
    else:
        resp = session.post(url + 'networks', headers=headers,
                            json={'network': {'name': 'n'}}, timeout=TIMEOUT)
    return Result(resp)


def test_concurrent_first_uses_make_one_default_group(conc_server):
    projects = [f'race-{uuid.uuid4().hex[:8]}' for _ in range(4)]
    jobs = [(p, kind) for p in projects for kind in range(4)
            for _ in range(4)]
    results = concurrently(lambda s, job: _first_use(conc_server, s, job),
                           jobs)
    assert all(r.status in (200, 201) for r in results), (
        tally(results), server_log(conc_server))
    for project in projects:
        groups = requests.get(
            conc_server.url + '/v2.0/security-groups',
            params={'project_id': project, 'name': 'default'},
            timeout=TIMEOUT).json()['security_groups']
        assert len(groups) == 1, (project, groups)
        assert len(groups[0]['security_group_rules']) == 4


def test_security_group_quota_holds_under_a_race(conc_server):
    project = f'sgq-{uuid.uuid4().hex[:8]}'
    resp = requests.put(f'{conc_server.url}/v2.0/quotas/{project}', json={
        'quota': {'security_group': 5}}, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    counter = itertools.count()

    def create(session: requests.Session, _item: int) -> Result:
        return Result(session.post(
            conc_server.url + '/v2.0/security-groups',
            headers=_headers(project), timeout=TIMEOUT,
            json={'security_group': {'name': f'g{next(counter)}'}}))
    results = concurrently(create, range(16))
    # The default group takes one of the five.
    assert tally(results) == {(201, None): 4, (409, 'OverQuota'): 12}, \
        server_log(conc_server)
    listed = requests.get(f'{conc_server.url}/v2.0/security-groups',
                          params={'project_id': project},
                          timeout=TIMEOUT).json()['security_groups']
    assert len(listed) == 5
