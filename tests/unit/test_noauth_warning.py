"""noauth trusts the identity a request claims: off loopback, the log
says so."""
from __future__ import annotations

import logging
from typing import Iterator

import pytest

from kaon import conf
from kaon.conf import CONF
from kaon.service import api_server as server


@pytest.fixture
def bound() -> Iterator[None]:
    conf.load()
    yield
    CONF.clear_override('bind_host')
    CONF.clear_override('auth_strategy')


@pytest.mark.parametrize('host,strategy,warns', [
    ('127.0.0.1', 'noauth', False), ('::1', 'noauth', False),
    ('0.0.0.0', 'noauth', True), ('10.1.0.5', 'noauth', True),
    ('0.0.0.0', 'keystone', False)])
def test_noauth_off_loopback_warns(bound: None,
                                   caplog: pytest.LogCaptureFixture,
                                   host: str, strategy: str,
                                   warns: bool) -> None:
    CONF.set_override('bind_host', host)
    CONF.set_override('auth_strategy', strategy)
    with caplog.at_level(logging.WARNING, logger='kaon.service.api_server'):
        server.warn_if_open_without_auth()
    warned = [r for r in caplog.records if 'noauth' in r.getMessage()]
    assert bool(warned) == warns
    if warns:
        assert host in warned[0].getMessage()
