"""An agent's status file: what `kaon <agent> --status` shows.

Written whole and atomically (a temporary file renamed over it), so a
reader never sees half of it; a write that fails is logged, never fatal
(the agent's work goes on).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Mapping

LOG = logging.getLogger(__name__)


def write(path: str, status: Mapping[str, Any]) -> None:
    try:
        with open(path + '.tmp', 'w') as f:
            json.dump(status, f)
        os.replace(path + '.tmp', path)
    except OSError as err:
        LOG.warning('cannot write %s: %s', path, err)


def read(path: str) -> dict[str, Any]:
    """:raises OSError: no status file (no agent ever wrote one).
    :raises ValueError: not a status file."""
    with open(path) as f:
        status: dict[str, Any] = json.load(f)
    return status
