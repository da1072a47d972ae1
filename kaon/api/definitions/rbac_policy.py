"""The rbac-policies resource (neutron/extensions/rbac.py's attribute map).

No standard attributes: Neutron's policies have none (no description,
timestamps or revision), and clients compare a policy before and after a
target update key by key.  `target_project` is accepted as the other name
of `target_tenant` (Neutron's own rename); the body shows `target_tenant`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from kaon import exceptions as exc
from kaon.api import validators as v
from kaon.api.attributes import REQUIRED, Attribute, Resource
from kaon.api.definitions.common import ID, PROJECT
from kaon.ipam.addresses import shown
from kaon.plugin.rbac import WILDCARD
from kaon.plugin.rbac_policies import OBJECT_TYPES

_PROJECT_TEXT = v.string(255)


def object_type(value: Any) -> str:
    """Neutron's convert_valid_object_type: trimmed, lower case, known."""
    if isinstance(value, str) and value.strip().lower() in OBJECT_TYPES:
        return value.strip().lower()
    raise exc.InvalidInput(error_message=(
        f"'{shown(value)}' is not a valid RBAC object type"))


def target_project(value: Any) -> str:
    """'*' or a project id, UUID-like (Neutron's valid_target_project),
    kept as written: Keystone's ids are bare hex, and a policy must name
    the project exactly as requests carry it."""
    text = _PROJECT_TEXT(value)
    if text != WILDCARD:
        try:
            v.uuid_like(text)
        except v.Invalid:
            raise exc.InvalidInput(error_message=(
                f"'{shown(text)}' is not a valid target project ID; "
                "expected a UUID or '*'")) from None
    return text


_TARGET = Attribute(allow_post=True, allow_put=True, validate=target_project,
                    omit_if_absent=True)

RESOURCE = Resource('rbac_policy', 'rbac_policies', {
    'id': ID, 'tenant_id': PROJECT, 'project_id': PROJECT,
    'object_type': Attribute(allow_post=True, validate=object_type,
                             default=REQUIRED, is_sort_key=True),
    'object_id': Attribute(allow_post=True, validate=v.uuid_like,
                           default=REQUIRED, is_sort_key=True),
    # Which actions a type takes is the plugin's (InvalidActionForType).
    'action': Attribute(allow_post=True, validate=v.string(255),
                        default=REQUIRED, is_sort_key=True),
    'target_tenant': _TARGET,
    'target_project': dataclasses.replace(_TARGET, is_sort_key=True),
})
