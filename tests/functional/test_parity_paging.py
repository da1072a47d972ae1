"""Pagination past the end, as tempest walks it (neutron-tempest-plugin's
_list_all_with_hrefs): forward one item a page through the `next` links,
onto the empty page past the end, then back through `previous` links."""
from __future__ import annotations

import urllib.parse

from tests.support.rest import unique


def _links(body: dict) -> dict[str, str]:
    return {link['rel']: link['href'] for link in body['networks_links']}


def _fleet(api, count: int) -> tuple[str, list[str]]:
    project = unique('proj')
    ids = [api.network(name=f'n{i}', project_id=project)['id']
           for i in range(count)]
    return project, ids


def test_empty_page_past_the_end_links_back_to_the_last_page(api):
    project, _ = _fleet(api, 3)
    query = {'project_id': project, 'sort_key': 'name', 'sort_dir': 'asc'}
    names = [n['name'] for n in api.list('networks', query)]
    url = '/v2.0/networks?' + urllib.parse.urlencode(dict(query, limit=1))
    forward = []
    for _ in names:
        body = api.ok(api.get(url))
        forward += [n['name'] for n in body['networks']]
        url = _links(body)['next']
    assert forward == names
    body = api.ok(api.get(url))      # the page after the last item
    assert body['networks'] == []
    links = _links(body)
    assert 'next' not in links
    back = urllib.parse.parse_qs(urllib.parse.urlparse(
        links['previous']).query)
    # Neutron's get_previous_link: no marker when the page is empty.
    assert 'marker' not in back
    assert back['page_reverse'] == ['True'] and back['limit'] == ['1']
    assert back['project_id'] == [project]
    backward = []
    url = links['previous']
    for _ in names:
        body = api.ok(api.get(url))
        backward += [n['name'] for n in body['networks']]
        url = _links(body).get('previous', '')
    assert backward == names[::-1]


def test_empty_reversed_page_links_forward_from_the_start(api):
    project, ids = _fleet(api, 2)
    query = {'project_id': project, 'limit': 2}
    first = sorted(ids)[0]
    body = api.ok(api.get('/v2.0/networks', params=dict(
        query, marker=first, page_reverse='True')))
    assert body['networks'] == []
    links = _links(body)
    assert set(links) == {'next'}
    params = urllib.parse.parse_qs(urllib.parse.urlparse(
        links['next']).query)
    assert 'marker' not in params and 'page_reverse' not in params
    assert sorted(n['id'] for n in api.ok(api.get(links['next']))[
        'networks']) == sorted(ids)


def test_no_limit_no_links_even_when_empty(api):
    body = api.ok(api.get('/v2.0/networks', params={
        'project_id': unique('proj')}))
    assert body == {'networks': []}
