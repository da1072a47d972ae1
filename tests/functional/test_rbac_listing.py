"""Listing what policies share costs a fixed number of queries, however
many networks the list holds: visibility, `shared` and the shared filter
are SQL over the policy table, never a query per network.  Counted on a
real plugin and SQLite file, by the statements the engine executes."""
from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
from sqlalchemy import event

from kaon.context import Context
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery
from tests.support.plugin import ADMIN, sqlite_plugin

BACKENDS = ['sqlite', pytest.param('postgres', marks=pytest.mark.postgres)]
GUEST = Context(project_id=uuid.uuid4().hex, roles=('member',))


@pytest.fixture(params=BACKENDS)
def plugin(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Plugin]:
    """The plugin on SQLite, and on PostgreSQL (the clauses are SQL)."""
    if request.param == 'postgres':
        pg = request.getfixturevalue('pg_cluster')
        db = Database(pg.create_database('kaon_' + uuid.uuid4().hex[:12]))
        migrate.upgrade(db.engine)
        plugin = Plugin(db)
    else:
        plugin = sqlite_plugin(str(tmp_path))
    plugin.update_quota('admin', {'rbac_policy': -1})
    yield plugin
    plugin.db.engine.dispose()


def _shared_networks(plugin: Plugin, count: int, start: int) -> None:
    """`count` networks with a subnet each, half shared with GUEST by a
    policy naming it, half with everyone."""
    for i in range(start, start + count):
        net = plugin.create('network', ADMIN, [{
            'name': f'n{i}', 'project_id': 'owner', 'admin_state_up': True,
            'mtu': 1500, 'shared': i % 2 == 0}])[0]
        plugin.create('subnet', ADMIN, [{
            'network_id': net['id'], 'project_id': 'owner', 'ip_version': 4,
            'cidr': f'10.{i // 256}.{i % 256}.0/24', 'enable_dhcp': False}])
        if i % 2:
            plugin.create('rbac_policy', ADMIN, [{
                'object_type': 'network', 'object_id': net['id'],
                'action': 'access_as_shared',
                'target_tenant': GUEST.project_id, 'project_id': 'admin'}])


def _statements(plugin: Plugin, resource: str,
                filters: dict[str, list[Any]]) -> tuple[int, int]:
    """(statements executed, items listed) for one list as GUEST."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])
    event.listen(plugin.db.engine, 'before_cursor_execute', count)
    try:
        items = plugin.list(resource, GUEST, ListQuery(filters=filters))
    finally:
        event.remove(plugin.db.engine, 'before_cursor_execute', count)
    return len(seen), len(items)


@pytest.mark.parametrize('resource,filters', [
    ('network', {}), ('network', {'shared': [True]}),
    ('subnet', {}), ('subnet', {'shared': [True]})])
def test_listing_shared_networks_costs_no_query_per_network(
        plugin: Plugin, resource: str, filters: dict[str, list[Any]]) -> None:
    _shared_networks(plugin, 4, 0)
    few, listed_few = _statements(plugin, resource, filters)
    _shared_networks(plugin, 40, 4)
    many, listed_many = _statements(plugin, resource, filters)
    assert (listed_few, listed_many) == (4, 44)
    assert many == few
