"""Who may do what: the policy targets of API calls, checked the way
Neutron's API layer checks them.

- A resource the caller may not see is 404, never 403, so nobody can probe
  for another project's ids; a visible one the caller may not change is 403.
- Lists are scoped in the database query (the plugin's visibility
  clauses); the `get_<resource>` rule then runs only on what a non-admin
  got back, so a member listing next to 10,000 foreign ports checks none.
- Subnets and ports are judged with their network's owner and `shared`
  flag in the target (`network:project_id`, `network:shared`), which the
  network-owner rules read.
"""
from __future__ import annotations

from typing import Any, Callable

from kaon import exceptions as exc
from kaon.api.attributes import Resource, default_of
from kaon.context import Context
from kaon.plugin.agents import AgentNotFound
from kaon.plugin.core import Plugin
from kaon.policy import enforcer

_NOT_FOUND: dict[str, Callable[[str], exc.NotFound]] = {
    'network': lambda i: exc.NetworkNotFound(net_id=i),
    'subnet': lambda i: exc.SubnetNotFound(subnet_id=i),
    'port': lambda i: exc.PortNotFound(port_id=i),
    'agent': lambda i: AgentNotFound(id=i),
}


def _network_fields(net: dict[str, Any]) -> dict[str, Any]:
    return {'network:project_id': net['project_id'],
            'network:tenant_id': net['project_id'],
            'network:shared': net['shared'],
            'network:router:external': net['router:external']}


def _with_networks(plugin: Plugin, items: list[dict[str, Any]],
                   ctx: Context = Context.admin(),
                   strict: bool = False) -> list[dict[str, Any]]:
    """Targets for items that hang off a network; one query for all.  A
    network gone (or hidden from `ctx`) is NetworkNotFound if `strict`;
    otherwise its items get no network fields, so owner rules fail."""
    ids = sorted({i['network_id'] for i in items if 'network_id' in i})
    if not ids:
        return items
    nets = plugin.network_owners(ctx, ids)
    missing = [i for i in ids if i not in nets]
    if missing and strict:
        raise exc.NetworkNotFound(net_id=missing[0])
    return [dict(item, **_network_fields(nets[item['network_id']]))
            if item.get('network_id') in nets else item for item in items]


def _attribute_rules(action: str, resource: Resource, body: dict[str, Any],
                     creating: bool) -> list[str]:
    """The `<action>:<attribute>` rules a request body invokes: on create,
    attributes set to something other than their default; on update, all
    the body names.  fixed_ips entries invoke `:ip_address`/`:subnet_id`."""
    rules = []
    for name, value in body.items():
        attr = resource.attributes.get(name)
        if attr is None or (creating and value == default_of(attr)):
            continue
        rules.append(f'{action}:{name}')
        if name == 'fixed_ips':
            rules += [f'{action}:fixed_ips:{key}' for ip in value or ()
                      for key in ('ip_address', 'subnet_id') if key in ip]
    return [r for r in dict.fromkeys(rules) if enforcer.has_rule(r)]


def _authorize_body(ctx: Context, action: str, resource: Resource,
                    body: dict[str, Any], target: dict[str, Any],
                    creating: bool) -> None:
    enforcer.authorize(ctx, action, target)
    for rule in _attribute_rules(action, resource, body, creating):
        enforcer.authorize(ctx, rule, target)


def check_create(plugin: Plugin, ctx: Context, resource: Resource,
                 items: list[dict[str, Any]]) -> None:
    """A network the caller cannot see is 404 here, as in Neutron."""
    targets = _with_networks(plugin, items, ctx, strict=True) \
        if resource.name in ('subnet', 'port') else items
    for item, target in zip(items, targets):
        _authorize_body(ctx, f'create_{resource.name}', resource, item,
                        target, creating=True)


def can_see(plugin: Plugin, ctx: Context, resource: Resource,
            item: dict[str, Any]) -> bool:
    target = _with_networks(plugin, [item])[0]
    return enforcer.allowed(ctx, f'get_{resource.name}', target)


def visible_items(plugin: Plugin, ctx: Context, resource: Resource,
                  items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if ctx.is_admin or not items:
        return items
    targets = _with_networks(plugin, items)
    action = f'get_{resource.name}'
    return [item for item, target in zip(items, targets)
            if enforcer.allowed(ctx, action, target)]


def get_item(plugin: Plugin, ctx: Context, resource: Resource,
             item_id: str) -> dict[str, Any]:
    """The item if the caller may see it; Neutron's NotFound otherwise."""
    item = plugin.get(resource.name, ctx, item_id)
    if not ctx.is_admin and not can_see(plugin, ctx, resource, item):
        raise _NOT_FOUND[resource.name](item_id)
    return item


def _check_change(plugin: Plugin, ctx: Context, resource: Resource,
                  item_id: str, action: str, body: dict[str, Any]) -> None:
    item = get_item(plugin, ctx, resource, item_id)
    target = _with_networks(plugin, [dict(item, **body)])[0]
    _authorize_body(ctx, f'{action}_{resource.name}', resource, body,
                    target, creating=False)


def check_update(plugin: Plugin, ctx: Context, resource: Resource,
                 item_id: str, body: dict[str, Any]) -> None:
    _check_change(plugin, ctx, resource, item_id, 'update', body)


def check_delete(plugin: Plugin, ctx: Context, resource: Resource,
                 item_id: str) -> None:
    _check_change(plugin, ctx, resource, item_id, 'delete', {})


def hidden_attributes(ctx: Context, resource: Resource) -> frozenset[str]:
    """Attributes whose `get_<resource>:<attribute>` rule the caller fails
    (e.g. binding:host_id for non-admins); judged once per request."""
    own = {'project_id': ctx.project_id, 'tenant_id': ctx.project_id}
    return frozenset(
        name for name in resource.attributes
        if enforcer.has_rule(f'get_{resource.name}:{name}') and
        not enforcer.allowed(ctx, f'get_{resource.name}:{name}', own))
