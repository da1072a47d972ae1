"""Attributes every resource has (Neutron's standard attributes)."""
from __future__ import annotations

from kaon.api import validators as v
from kaon.api.attributes import Attribute

ID = Attribute(validate=v.uuid_like, is_sort_key=True)
NAME = Attribute(allow_post=True, allow_put=True, validate=v.string(255),
                 default='', is_sort_key=True)
PROJECT = Attribute(allow_post=True, validate=v.string(255),
                    is_sort_key=True)
DESCRIPTION = Attribute(allow_post=True, allow_put=True,
                        validate=v.string(255), default='')
TAGS = Attribute(allow_post=True, allow_put=True,
                 validate=v.list_of(v.one_line(255, commas=False)),
                 omit_if_absent=True)
TIMESTAMP = Attribute(is_sort_key=True, is_filter=False)
REVISION = Attribute(validate=v.integer(0), is_sort_key=True)
TAG_FILTER = Attribute()


def standard() -> dict[str, Attribute]:
    """id, name, project, description, timestamps, revision, tags."""
    return {
        'id': ID, 'name': NAME, 'tenant_id': PROJECT, 'project_id': PROJECT,
        'description': DESCRIPTION, 'created_at': TIMESTAMP,
        'updated_at': TIMESTAMP, 'revision_number': REVISION, 'tags': TAGS,
    }
