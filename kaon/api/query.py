"""Neutron's list query semantics: filters, fields, sorting, pagination.

Repeated keys mean OR (`?id=a&id=b`); `fields` may repeat; sort_key and
sort_dir pair up; limit/marker/page_reverse page through the collection
and produce `<collection>_links` with next/previous hrefs.
"""
from __future__ import annotations

import urllib.parse
from typing import Any

from kaon import exceptions as exc
from kaon.api.attributes import Resource, filter_value
from kaon.api.validators import Invalid, boolean, integer
from kaon.conf import CONF
from kaon.plugin.query import TAG_FILTERS, ListQuery

# A page size of 0 means no limit (Neutron); anything a 32-bit LIMIT can't
# hold is refused rather than handed to the database.
_PAGE_SIZE = integer(0)
_CONTROL = {'fields', 'sort_key', 'sort_dir', 'limit', 'marker',
            'page_reverse'}


def _bad(msg: str) -> exc.HTTPBadRequest:
    return exc.HTTPBadRequest(msg=msg)


def _sorts(resource: Resource,
           params: dict[str, list[str]]) -> list[tuple[str, bool]]:
    keys, dirs = params.get('sort_key', []), params.get('sort_dir', [])
    if dirs and len(dirs) != len(keys):
        raise _bad('The number of sort_keys and sort_dirs must be same')
    sorts = []
    for i, key in enumerate(keys):
        attr = resource.attributes.get(key)
        if attr is None or not attr.is_sort_key:
            raise _bad(f'{key} is invalid attribute for sort_key')
        direction = dirs[i] if dirs else 'asc'
        if direction not in ('asc', 'desc'):
            raise _bad(f"{direction} is invalid value for sort_dir")
        sorts.append((key, direction == 'asc'))
    return sorts


def _limit(params: dict[str, list[str]]) -> int | None:
    if 'limit' not in params:
        return None
    try:
        limit = _PAGE_SIZE(params['limit'][-1])
    except Invalid as err:
        raise _bad(f'Invalid input for limit. Reason: {err}.') from None
    top = CONF.pagination_max_limit
    if top > 0:
        limit = min(limit or top, top)
    return limit or None


def _filters(resource: Resource, hidden: frozenset[str],
             params: dict[str, list[str]]) -> dict[str, list[Any]]:
    filters = {}
    for name, values in params.items():
        if name in _CONTROL:
            continue
        if name in TAG_FILTERS and 'tags' in resource.attributes:
            filters[name] = values
            continue
        attr = resource.attributes.get(name)
        if attr is None or not attr.is_filter or name in hidden:
            raise _bad(f'{name} is invalid attribute for filtering')
        filters[name] = [filter_value(resource, name, v) for v in values]
    return filters


def parse(resource: Resource, hidden: frozenset[str],
          params: dict[str, list[str]]) -> tuple[ListQuery, list[str]]:
    """The list query and the requested fields of a GET on a collection."""
    try:
        reverse = boolean(params.get('page_reverse', ['false'])[-1])
    except Invalid as err:
        raise _bad(f'Invalid input for page_reverse. Reason: {err}.') \
            from None
    query = ListQuery(filters=_filters(resource, hidden, params),
                      sorts=_sorts(resource, params), limit=_limit(params),
                      marker=params.get('marker', [None])[-1],
                      page_reverse=reverse)
    return query, params.get('fields', [])


def links(url: str, params: dict[str, list[str]], query: ListQuery,
          items: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Neutron's pagination links (api_common.get_pagination_links): a short
    page ends the walk in the direction it was read, nothing else does.
    An empty page past the end still links back: its `previous` link has
    no marker and page_reverse=True, which reads the last page (tempest's
    walk forward then back through the href links relies on it)."""
    if not query.limit:
        return []
    short = len(items) < query.limit
    result = []
    if not (short and not query.page_reverse):
        result.append({'rel': 'next', 'href': _href(
            url, params, query.limit, items[-1]['id'] if items else None,
            False)})
    if not (short and query.page_reverse):
        result.append({'rel': 'previous', 'href': _href(
            url, params, query.limit, items[0]['id'] if items else None,
            True)})
    return result


def _href(url: str, params: dict[str, list[str]], limit: int,
          marker: str | None, reverse: bool) -> str:
    kept = [(k, v) for k, vs in params.items() for v in vs
            if k not in ('limit', 'marker', 'page_reverse')]
    kept.append(('limit', str(limit)))
    if marker is not None:
        kept.append(('marker', marker))
    if reverse:
        kept.append(('page_reverse', 'True'))
    return f'{url}?{urllib.parse.urlencode(kept)}'
