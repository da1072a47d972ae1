"""`If-Match: revision_number=N` on PUT and DELETE (Neutron's
revision-if-match): 412 RevisionNumberConstraintFailed when the resource
is at another revision, and nothing changes; 400 for a malformed tag."""
from __future__ import annotations

import concurrent.futures

import pytest

from tests.support.rest import Api, unique

FAILED = 'RevisionNumberConstraintFailed'


def _resources(api: Api) -> dict[str, dict]:
    net = api.network()
    sub = api.subnet(net['id'], '10.84.0.0/24')
    port = api.port(net['id'])
    return {'network': api.show('network', net['id']), 'subnet': sub,
            'port': port}


def test_extension_is_advertised(api):
    aliases = {e['alias'] for e in api.ok(api.get('/v2.0/extensions'))[
        'extensions']}
    assert 'revision-if-match' in aliases
    api.ok(api.get('/v2.0/extensions/revision-if-match'))


@pytest.mark.parametrize('resource', ['network', 'subnet', 'port'])
def test_stale_revision_on_put_is_412_and_changes_nothing(api, resource):
    item = _resources(api)[resource]
    path = f"/v2.0/{resource}s/{item['id']}"
    current = item['revision_number']
    for stale in (current - 1, current + 1, 10 ** 30):
        resp = api.put(path, json={resource: {'name': 'changed'}},
                       headers={'If-Match': f'revision_number={stale}'})
        err = api.error(resp, 412, FAILED)
        assert err['message'] == (f'Constrained to {stale}, but current '
                                  f'revision is {current}')
    assert api.show(resource, item['id']) == item
    resp = api.put(path, json={resource: {'name': 'changed'}},
                   headers={'If-Match': f'revision_number={current}'})
    updated = api.ok(resp)[resource]
    assert updated['name'] == 'changed'
    assert updated['revision_number'] > current


@pytest.mark.parametrize('resource', ['port', 'subnet', 'network'])
def test_stale_revision_on_delete_is_412_and_keeps_it(api, resource):
    net = api.network()
    item = {'network': net,
            'subnet': api.subnet(net['id'], '10.85.0.0/24')
            if resource == 'subnet' else None,
            'port': api.port(net['id']) if resource == 'port' else None
            }[resource]
    path = f"/v2.0/{resource}s/{item['id']}"
    current = api.show(resource, item['id'])['revision_number']
    api.error(api.delete(path, headers={
        'If-Match': f'revision_number={current + 1}'}), 412, FAILED)
    api.show(resource, item['id'])
    api.ok(api.delete(path, headers={
        'If-Match': f'"revision_number={current}"'}), 204)
    api.error(api.get(path), 404)


@pytest.mark.parametrize('header', [
    'revision_number=abc', 'revision_number=', 'revision_number=1.5',
    'revision_number=3, revision_number=4',
    '"revision_number=0", "revision_number=0"'])
def test_malformed_revision_tags_are_400(api, header):
    net = api.network()
    resp = api.put(f"/v2.0/networks/{net['id']}", json={
        'network': {'name': 'changed'}}, headers={'If-Match': header})
    api.error(resp, 400, 'BadRequest', 'if-match')
    assert api.show('network', net['id'])['name'] == net['name']


@pytest.mark.parametrize('header', [
    '*', '"some-etag"', 'W/"revision_number=99"', 'abc'])
def test_other_tags_constrain_nothing(api, header):
    net = api.network()
    resp = api.put(f"/v2.0/networks/{net['id']}", json={
        'network': {'name': 'changed'}}, headers={'If-Match': header})
    assert api.ok(resp)['network']['name'] == 'changed'


def test_if_match_on_a_missing_item_is_404(api):
    resp = api.put('/v2.0/networks/' + '0' * 32, json={'network': {
        'name': 'x'}}, headers={'If-Match': 'revision_number=0'})
    api.error(resp, 404, 'NetworkNotFound')


def test_concurrent_updates_on_one_revision_exactly_one_wins(conc_server):
    api = Api(conc_server.url)
    net = api.network()
    rev = net['revision_number']

    def rename(i: int) -> int:
        return api.put(f"/v2.0/networks/{net['id']}", json={'network': {
            'name': unique(f'r{i}')}}, headers={
            'If-Match': f'revision_number={rev}'}).status_code
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(rename, range(16)))
    assert sorted(codes) == [200] + [412] * 15, codes
    assert api.show('network', net['id'])['revision_number'] == rev + 1
