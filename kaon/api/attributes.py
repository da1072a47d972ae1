"""Declarative resources: what may be posted or put, validated, shown.

A resource is a map of attribute name -> Attribute, in the spirit of
neutron-lib's RESOURCE_ATTRIBUTE_MAP; one generic controller serves every
resource from its map.  This module also applies a map to a request body
(Neutron's prepare_request_body) and to a response (field visibility).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from kaon import exceptions as exc
from kaon.api.validators import Invalid, Validator
from kaon.context import Context


class _Required:
    def __repr__(self) -> str:
        return 'REQUIRED'


# `default=REQUIRED`: a POST must carry the attribute.  `default=None` with
# `omit_if_absent`: leave it out so the plugin computes it (gateway, pools).
REQUIRED: Any = _Required()


@dataclasses.dataclass(frozen=True)
class Attribute:
    allow_post: bool = False
    allow_put: bool = False
    validate: Validator | None = None
    default: Any = None
    omit_if_absent: bool = False
    is_filter: bool = True
    is_sort_key: bool = False


@dataclasses.dataclass(frozen=True)
class Resource:
    name: str
    collection: str
    attributes: dict[str, Attribute]
    creatable: bool = True


def _bad(msg: str) -> exc.HTTPBadRequest:
    return exc.HTTPBadRequest(msg=msg)


def default_of(attr: Attribute) -> Any:
    return attr.default() if callable(attr.default) else attr.default


def _convert(name: str, attr: Attribute, value: Any) -> Any:
    if attr.validate is None:
        return value
    try:
        return attr.validate(value)
    except Invalid as err:
        raise _bad(f'Invalid input for {name}. Reason: {err}.') from None


def _project(ctx: Context, body: dict[str, Any]) -> str:
    """Neutron's project rules: tenant_id and project_id are one value."""
    given: set[str] = {body[key] for key in ('tenant_id', 'project_id')
                       if body.get(key) is not None}
    if len(given) > 1:
        raise _bad("'project_id' and 'tenant_id' do not match")
    project = given.pop() if given else ctx.project_id
    if project != ctx.project_id and not ctx.is_admin:
        raise _bad("Specifying 'project_id' or 'tenant_id' other than the "
                   'authenticated project in request requires admin '
                   'privileges')
    return project


def prepare_item(resource: Resource, ctx: Context, item: Any,
                 creating: bool) -> dict[str, Any]:
    """Validate and convert one item of a POST or PUT body."""
    if not isinstance(item, dict):
        raise _bad(f"Resource body required: '{resource.name}' must be an "
                   'object')
    unknown = sorted(set(item) - set(resource.attributes))
    if unknown:
        raise _bad(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    result = {}
    for name, attr in resource.attributes.items():
        allowed = attr.allow_post if creating else attr.allow_put
        if name in item:
            if not allowed:
                raise _bad(f"Attribute '{name}' not allowed in POST"
                           if creating else
                           f'Cannot update read-only attribute {name}')
            result[name] = _convert(name, attr, item[name])
        elif creating and allowed and not attr.omit_if_absent:
            if attr.default is REQUIRED:
                raise _bad('Failed to parse request. Required attribute '
                           f"'{name}' not specified")
            result[name] = default_of(attr)
    if creating and 'project_id' in resource.attributes:
        result['project_id'] = result['tenant_id'] = _project(ctx, result)
    return result


def prepare_body(resource: Resource, ctx: Context, body: Any,
                 creating: bool) -> list[dict[str, Any]]:
    """A request body as a list of items: one, or many for a bulk POST."""
    if not isinstance(body, dict):
        raise _bad('Resource body required')
    if creating and resource.collection in body:
        items = body[resource.collection]
        if not isinstance(items, list) or not items:
            raise _bad(f"Resources required: '{resource.collection}' must "
                       'be a non-empty list')
        items = [_unwrapped(resource, item) for item in items]
    elif resource.name in body:
        items = [body[resource.name]]
    else:
        raise _bad(f"Unable to find '{resource.name}' in request body")
    return [prepare_item(resource, ctx, item, creating) for item in items]


def _unwrapped(resource: Resource, item: Any) -> Any:
    """A bulk item may come wrapped as a single body is (`{"ports":
    [{"port": {...}}]}`): Neutron's prepare_request_body takes `item if
    resource in item else {resource: item}`.  Only an item holding the
    resource key alone is unwrapped; beside other keys it stays an
    unrecognized attribute (Neutron would drop those keys unread)."""
    if isinstance(item, dict) and set(item) == {resource.name}:
        return item[resource.name]
    return item


def render(resource: Resource, item: dict[str, Any],
           fields: list[str] | None = None,
           hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The item without the attributes policy hides from this caller,
    limited to `fields` if asked."""
    shown = {}
    for name in resource.attributes:
        if name in hidden:
            continue
        if fields and name not in fields:
            continue
        if name in item:
            shown[name] = item[name]
    return shown


# Filters the plugin interprets itself (their values are not values of
# the attribute: `fixed_ips=ip_address=X`).
RAW_FILTERS = ('subnets', 'tags', 'fixed_ips', 'security_groups')


def filter_value(resource: Resource, name: str, value: str) -> Any:
    """Convert a query-string filter value with the attribute's validator
    (so a filter matches the canonical form an address is stored in)."""
    check = resource.attributes[name].validate
    if check is None or name in RAW_FILTERS:
        return value
    try:
        return check(value)
    except Invalid as err:
        raise _bad(f'Invalid input for {name}. Reason: {err}.') from None
