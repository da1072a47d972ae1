"""After-commit notifications: `<resource>.<event>.end`, Neutron's names.

Subscribers (the DHCP notifier) run after the transaction committed, and a
failing subscriber is logged, never turned into an API error: the change
has happened.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable

LOG = logging.getLogger(__name__)
Callback = Callable[[str, str, Any, dict[str, Any]], None]


class Events:
    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], list[Callback]] = \
            defaultdict(list)

    def subscribe(self, resource: str, event: str, callback: Callback) -> None:
        self._subscribers[(resource, event)].append(callback)

    def publish(self, resource: str, event: str, context: Any,
                payload: dict[str, Any]) -> None:
        for callback in self._subscribers.get((resource, event), ()):
            try:
                callback(resource, event, context, payload)
            except Exception:  # noqa: BLE001 - the change is committed
                LOG.exception('%s.%s.end subscriber failed', resource, event)
