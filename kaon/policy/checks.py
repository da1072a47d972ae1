"""Neutron's `field:` check, so Neutron's rule strings work unchanged.

`field:<collection>:<attribute>=<value>` is true when the target's attribute
equals the value, `=~<regex>` when it matches.  Subnets and ports carry
their network's attributes as `network:<attribute>` in the target, which is
how `field:networks:shared=True` answers for a port on a shared network.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from oslo_policy import policy


def _get(target: Mapping[str, Any], key: str) -> Any:
    """target[key] or None: by subscription, so that a target computing
    fields on demand (dict.__missing__) is asked."""
    try:
        return target[key]
    except KeyError:
        return None


@policy.register('field')
class FieldCheck(policy.Check):
    def __init__(self, kind: str, match: str) -> None:
        super().__init__(kind, match)
        collection, _, test = match.partition(':')
        self.of_network = collection in ('networks', 'network')
        if '=~' in test:
            self.field, _, pattern = test.partition('=~')
            self.regex: re.Pattern[str] | None = re.compile(pattern)
            self.value = ''
        else:
            self.field, _, self.value = test.partition('=')
            self.regex = None

    def __call__(self, target: Mapping[str, Any], creds: Any, enforcer: Any,
                 current_rule: str | None = None) -> bool:
        value = _get(target, self.field)
        if value is None and self.of_network:
            value = _get(target, f'network:{self.field}')
        if value is None:
            return False
        if self.regex is not None:
            return bool(self.regex.match(str(value)))
        return str(value).lower() == self.value.lower()
