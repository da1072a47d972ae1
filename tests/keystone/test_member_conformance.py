"""The noauth conformance suites again, as an authenticated member.

The query semantics (tests/functional/test_query.py), the errors and
validation (test_errors.py) and the openstacksdk lifecycle
(test_clients.py) run here unchanged, with `api` and `conn` acting as carol,
a member of project gamma with a real Keystone token, instead of noauth's
admin.  Tests that need the admin or a second project by noauth headers are
left to their own suites (the isolation tests cover those rules here).
"""
from __future__ import annotations

import inspect
from typing import Any, Iterator

import openstack
import pytest

from tests.functional import test_clients, test_errors, test_query
from tests.functional.test_query import make_fleet
from tests.support.keystone_cloud import Cloud
from tests.support.rest import Api

# These fixtures are the member's here; tests asking for others are skipped.
MEMBER_FIXTURES = {'api', 'conn', 'fleet', 'params', 'value', 'expected',
                   'sort', 'order', 'body', 'case', 'cidr', 'attrs',
                   'message', 'status', 'path', 'field', 'bad'}
# Tests of what only the admin may do: quotas, binding:host_id, changing a
# MAC, creating for another project.  A member gets 403 or 400 there, which
# test_isolation.py asserts.
ADMIN_ONLY = {'test_sdk_quotas', 'test_port_defaults_and_generated_macs',
              'test_port_updates',
              'test_duplicate_mac_on_a_network_is_409_but_fine_elsewhere',
              'test_sdk_follows_pagination_links'}


def _reused(module: Any) -> dict[str, Any]:
    tests = {}
    for name, func in vars(module).items():
        if not name.startswith('test_') or not inspect.isfunction(func) or \
                name in ADMIN_ONLY:
            continue
        if set(inspect.signature(func).parameters) <= MEMBER_FIXTURES:
            tests[name] = func
    return tests


for _module in (test_query, test_errors, test_clients):
    globals().update(_reused(_module))

pytestmark = [pytest.mark.filterwarnings('ignore::DeprecationWarning'),
              pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')]


@pytest.fixture(scope='module')
def carol(cloud: Cloud) -> Api:
    """carol, with no quota limits (the suites make many networks)."""
    admin = cloud.api('admin')
    admin.ok(admin.put(f"/v2.0/quotas/{cloud.people['carol'].project_id}",
                       json={'quota': {'network': -1, 'subnet': -1,
                                       'port': -1}}))
    return cloud.api('carol')


@pytest.fixture
def newcomer(cloud: Cloud) -> tuple[Api, str]:
    return cloud.newcomer()


@pytest.fixture
def api(request: pytest.FixtureRequest, carol: Api) -> Api:
    """carol; but the query tests' fleet needs a project holding only its
    seven networks, which a member makes only in its own: a newcomer's."""
    if 'fleet' in request.fixturenames:
        return request.getfixturevalue('newcomer')[0]
    return carol


@pytest.fixture
def fleet(api: Api, newcomer: tuple[Api, str]) -> tuple[str, list[dict]]:
    """test_query's seven networks, made by the newcomer in its project."""
    return newcomer[1], make_fleet(api, newcomer[1])


@pytest.fixture(scope='module')
def conn(cloud: Cloud, carol: Api) -> Iterator[Any]:
    """openstacksdk as carol: password auth, kaon found in the catalog."""
    env = cloud.os_env('carol')
    connection = openstack.connect(
        auth_url=env['OS_AUTH_URL'], username=env['OS_USERNAME'],
        password=env['OS_PASSWORD'], project_name=env['OS_PROJECT_NAME'],
        user_domain_id='default', project_domain_id='default',
        region_name=env['OS_REGION_NAME'], load_yaml_config=False,
        load_envvars=False)
    yield connection
    connection.close()


def test_the_suites_ran_here_as_a_member(api: Api, cloud: Cloud) -> None:
    """Guards the re-collection above: most of the suites must be here."""
    here = [n for n in globals() if n.startswith('test_')]
    assert len(here) > 60, here
    net = api.network()
    assert net['project_id'] == cloud.people['carol'].project_id
