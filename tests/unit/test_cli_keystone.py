"""`kaon keystone-register`'s decisions over an in-memory stand-in for
Keystone's /v3 API: what a rerun writes (nothing), what a changed URL or
a duplicate makes it do, what it refuses, and the kaon.conf it prints."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from keystoneauth1 import exceptions as ks

from kaon.cli import keystone
from kaon.cli.client import CliError

URLS = {'public': 'http://pub:9696', 'internal': 'http://int:9696',
        'admin': 'http://adm:9696'}


class FakeIdentity:
    """services and endpoints in lists; `writes` records every change."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {
            'services': [], 'endpoints': []}
        self.writes: list[tuple[str, str]] = []

    def find(self, collection: str, **filters: str) -> list[dict[str, Any]]:
        return [dict(i) for i in self.items[collection]
                if all(i.get(k) == v for k, v in filters.items())]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.writes.append((method, path))
        collection, _, item_id = path.strip('/').partition('/')
        if method == 'POST':
            (kind, attrs), = body.items()
            item = dict(attrs, id=uuid.uuid4().hex)
            self.items[collection].append(item)
            return {kind: item}
        item = next(i for i in self.items[collection] if i['id'] == item_id)
        if method == 'PATCH':
            item.update(next(iter(body.values())))
        elif method == 'DELETE':
            self.items[collection].remove(item)
        return None

    def add(self, collection: str, **attrs: Any) -> dict[str, Any]:
        return self.call('POST', f'/{collection}',
                         {collection[:-1]: attrs})[collection[:-1]]


def test_a_rerun_writes_nothing():
    ident = FakeIdentity()
    service_id, _ = keystone.ensure_service(ident, 'neutron')
    keystone.ensure_endpoints(ident, service_id, 'RegionOne', URLS)
    written = len(ident.writes)
    again_id, rows = keystone.ensure_service(ident, 'neutron')
    rows += keystone.ensure_endpoints(ident, service_id, 'RegionOne', URLS)
    assert again_id == service_id
    assert {r['action'] for r in rows} == {'unchanged'}
    assert len(ident.writes) == written
    assert len(ident.items['endpoints']) == 3


def test_changed_urls_are_patched_and_duplicates_deleted():
    ident = FakeIdentity()
    service_id, _ = keystone.ensure_service(ident, 'neutron')
    keystone.ensure_endpoints(ident, service_id, 'RegionOne', URLS)
    ident.add('endpoints', service_id=service_id, interface='public',
              region_id='RegionOne', url='http://stale:9696')
    rows = keystone.ensure_endpoints(ident, service_id, 'RegionOne',
                                     dict(URLS, admin='http://new:9696'))
    assert [r['action'] for r in rows] == [
        'unchanged', 'deleted (duplicate)', 'unchanged', 'updated url']
    assert sorted((e['interface'], e['url'])
                  for e in ident.items['endpoints']) == [
        ('admin', 'http://new:9696'), ('internal', 'http://int:9696'),
        ('public', 'http://pub:9696')]


def test_endpoints_of_other_regions_are_left_alone():
    ident = FakeIdentity()
    service_id, _ = keystone.ensure_service(ident, 'neutron')
    keystone.ensure_endpoints(ident, service_id, 'RegionOne', URLS)
    keystone.ensure_endpoints(ident, service_id, 'RegionTwo',
                              {'public': 'http://two:9696'})
    assert len(ident.items['endpoints']) == 4


def test_an_existing_service_is_reenabled_with_kaons_description():
    ident = FakeIdentity()
    old = ident.add('services', type='network', name='neutron',
                    enabled=False, description='OpenStack Networking')
    service_id, rows = keystone.ensure_service(ident, 'neutron')
    assert service_id == old['id']
    assert rows[0]['action'] == 'updated description, enabled'
    assert ident.items['services'][0]['enabled'] is True


def test_a_network_service_under_another_name_is_refused():
    ident = FakeIdentity()
    ident.add('services', type='network', name='neutron')
    with pytest.raises(CliError, match="network service 'neutron' .*"
                                       "--name neutron"):
        keystone.ensure_service(ident, 'kaon')
    assert len(ident.items['services']) == 1


class Catalog:
    def __init__(self, internal: bool) -> None:
        self.internal = internal

    def get_endpoint(self, service_type: str, interface: str) -> str:
        if self.internal:
            return 'http://ks-int:5000/v3'
        raise ks.EndpointNotFound('internal endpoint for identity service '
                                  'not found')


@pytest.mark.parametrize('internal, line', [(True, None),
                                            (False, 'interface = public')])
def test_the_conf_sample_names_public_when_keystone_has_no_internal(
        internal, line):
    interface = keystone.authtoken_interface(Catalog(internal))
    sample = keystone.authtoken_sample('http://ks:5000/v3', 'kaon',
                                       'service', interface).splitlines()
    assert sample[1:4] == ['[DEFAULT]', 'auth_strategy = keystone',
                           '[keystone_authtoken]']
    assert 'username = kaon' in sample
    assert 'password = (--service-password)' in sample
    assert (line in sample) if line else \
        not any(s.startswith('interface') for s in sample)
