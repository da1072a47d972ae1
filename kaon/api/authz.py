"""Who may do what: the policy targets of API calls, checked the way
Neutron's API layer checks them.

- A resource the caller may not see is 404, never 403, so nobody can probe
  for another project's ids; a visible one the caller may not change is 403.
- Lists are scoped in the database query (the plugin's visibility
  clauses); the `get_<resource>` rule then runs only on what a non-admin
  got back, so a member listing next to 10,000 foreign ports checks none.
- Subnets and ports are judged with their network's owner and `shared`
  flag in the target (`network:project_id`, `network:shared`), which the
  network-owner rules read.  `shared` is the caller's: an RBAC policy may
  share a network with one project only.
"""
from __future__ import annotations

from typing import Any

from kaon import exceptions as exc
from kaon.api.attributes import Resource, default_of
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.policy import enforcer


def _network_fields(net: dict[str, Any]) -> dict[str, Any]:
    return {'network:project_id': net['project_id'],
            'network:tenant_id': net['project_id'],
            'network:shared': net['shared'],
            'network:router:external': net['router:external']}


class _Target(dict[str, Any]):
    """A policy target that looks its network up only when a rule reads a
    `network:` field: most creates never do, and it costs a database read.
    A network hidden from the caller is NetworkNotFound then (404)."""

    def __init__(self, item: dict[str, Any], plugin: Plugin,
                 ctx: Context) -> None:
        super().__init__(item)
        self._lookup: tuple[Plugin, Context] | None = (plugin, ctx)

    def __missing__(self, key: str) -> Any:
        if key.startswith('network:') and self._lookup and \
                'network_id' in self:
            (plugin, ctx), self._lookup = self._lookup, None
            net_id = self['network_id']
            net = plugin.network_owners(ctx, [net_id]).get(net_id)
            if net is None:
                raise exc.NetworkNotFound(net_id=net_id)
            self.update(_network_fields(net))
            return self[key]
        if key.startswith('security_group:') and self._lookup and \
                'security_group_id' in self:
            self.update(_with_groups(self._lookup[0], [dict(self)])[0])
            if key in self:
                return self[key]
        raise KeyError(key)


def _elevated(ctx: Context) -> Context:
    """Neutron's context.elevated(): sees everything, but `shared` (which
    RBAC policies make per project) is still judged for the caller."""
    return Context.admin(ctx.project_id)


def _with_networks(plugin: Plugin, ctx: Context,
                   items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Targets for many items that hang off networks, with one query for
    all; an item whose network is gone gets no network fields (owner
    rules then fail for it)."""
    ids = sorted({i['network_id'] for i in items if 'network_id' in i})
    nets = plugin.network_owners(_elevated(ctx), ids) if ids else {}
    return [dict(item, **_network_fields(nets[item['network_id']]))
            if item.get('network_id') in nets else item for item in items]


def _with_groups(plugin: Plugin,
                 items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Security group rules judged with their group's owner
    (`security_group:project_id`, Neutron's sg_owner rule: the owner of a
    group sees and deletes every rule in it, an admin's too), one query for
    all the groups of a listing."""
    ids = sorted({i['security_group_id'] for i in items
                  if 'security_group_id' in i})
    owners = plugin.security_group_owners(ids) if ids else {}
    return [dict(item, **{'security_group:project_id': owner,
                          'security_group:tenant_id': owner})
            if (owner := owners.get(item.get('security_group_id', '')))
            else item for item in items]


def _attribute_rules(action: str, resource: Resource, body: dict[str, Any],
                     creating: bool) -> list[str]:
    """The `<action>:<attribute>` rules a request body invokes: on create,
    attributes set to something other than their default; on update, all
    the body names.  The keys of a list's entries invoke their own
    (`fixed_ips:ip_address`, `allowed_address_pairs:mac_address`)."""
    rules = []
    for name, value in body.items():
        attr = resource.attributes.get(name)
        if attr is None or (creating and value == default_of(attr)):
            continue
        rules.append(f'{action}:{name}')
        if isinstance(value, list):
            rules += [f'{action}:{name}:{key}' for entry in value
                      if isinstance(entry, dict) for key in entry]
    return [r for r in dict.fromkeys(rules) if enforcer.has_rule(r)]


def _authorize_body(ctx: Context, action: str, resource: Resource,
                    body: dict[str, Any], target: dict[str, Any],
                    creating: bool) -> None:
    enforcer.authorize(ctx, action, target)
    for rule in _attribute_rules(action, resource, body, creating):
        enforcer.authorize(ctx, rule, target)


def check_create(plugin: Plugin, ctx: Context, resource: Resource,
                 items: list[dict[str, Any]]) -> None:
    for item in items:
        _authorize_body(ctx, f'create_{resource.name}', resource, item,
                        _Target(item, plugin, ctx), creating=True)


def can_see(plugin: Plugin, ctx: Context, resource: Resource,
            item: dict[str, Any]) -> bool:
    return enforcer.allowed(ctx, f'get_{resource.name}',
                            _Target(item, plugin, _elevated(ctx)))


def visible_items(plugin: Plugin, ctx: Context, resource: Resource,
                  items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if ctx.is_admin or not items:
        return items
    targets = _with_groups(plugin, _with_networks(plugin, ctx, items))
    action = f'get_{resource.name}'
    return [item for item, target in zip(items, targets, strict=True)
            if enforcer.allowed(ctx, action, target)]


def get_item(plugin: Plugin, ctx: Context, resource: Resource,
             item_id: str) -> dict[str, Any]:
    """The item if the caller may see it; Neutron's NotFound otherwise."""
    item = plugin.get(resource.name, ctx, item_id)
    if not ctx.is_admin and not can_see(plugin, ctx, resource, item):
        raise exc.not_found(resource.name, item_id)
    return item


def _check_change(plugin: Plugin, ctx: Context, resource: Resource,
                  item_id: str, action: str, body: dict[str, Any]) -> None:
    item = get_item(plugin, ctx, resource, item_id)
    target = _Target(dict(item, **body), plugin, _elevated(ctx))
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
    (e.g. binding:host_id for non-admins), judged on the caller's own
    project once per request: a port of a list is not asked one by one."""
    return frozenset(
        name for name in resource.attributes
        if enforcer.has_rule(f'get_{resource.name}:{name}') and
        not enforcer.allowed_on_own(ctx, f'get_{resource.name}:{name}'))
