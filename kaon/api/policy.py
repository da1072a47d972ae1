"""Access rules beyond "admin-only attribute" (Neutron's default policy).

Attribute-level rules live in the attribute maps; this module holds the
rules that look at a value.  oslo.policy takes over with Keystone (issue 5).
"""
from __future__ import annotations

from typing import Any

from kaon import exceptions as exc
from kaon.api.attributes import Resource
from kaon.context import Context


def check(resource: Resource, ctx: Context, action: str,
          item: dict[str, Any]) -> None:
    """Non-admins may not create ports that claim to be network services."""
    if ctx.is_admin or resource.name != 'port':
        return
    if str(item.get('device_owner', '')).startswith('network:'):
        raise exc.PolicyNotAuthorized(
            action=f'rule:{action}_port:device_owner')
