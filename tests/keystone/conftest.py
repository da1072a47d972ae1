"""Tests that need a real OpenStack Keystone: one per session.

It comes from tests/support/keystone.py and needs the virtualenv that
./dev setup makes (.venv-keystone); without it the fixture fails, saying so.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.keystone import Keystone


@pytest.fixture(scope='session')
def keystone() -> Iterator[Keystone]:
    with Keystone() as ks:
        yield ks
