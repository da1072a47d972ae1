"""Fixtures more than one test directory uses."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.keystone import Keystone


@pytest.fixture(scope='session')
def keystone() -> Iterator[Keystone]:
    """One real Keystone per session (tests/support/keystone.py; it needs
    the virtualenv ./dev setup makes, and fails saying so without it)."""
    with Keystone() as ks:
        yield ks
