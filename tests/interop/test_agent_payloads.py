"""kaon's DHCP agent client against Neutron 29's, key by key: the arguments of
each call kaon's agent makes, recorded by a stand-in on q-plugin that
answers with Neutron's captured replies (tests/interop/payloads.py); and
every captured DHCP message is compared by one of these tests.
"""
from __future__ import annotations

import threading
from typing import Any

import oslo_messaging
import pytest

from kaon.agent.linux.device_manager import DeviceManager
from kaon.conf import CONF
from kaon.rpc import common
from kaon.rpc.agent_api import DhcpPluginApi
from tests.interop.payloads import (
    EXAMPLES,
    SAME,
    captured,
    differences,
    message,
)
from tests.interop.test_server_payloads import SERVER_SIDE
from tests.support.plugin import sqlite_plugin


class NeutronStandIn:
    """On q-plugin: records each call's arguments and answers with the
    reply Neutron gave to the same call."""
    target = oslo_messaging.Target(version='1.10')

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        for method in ('get_active_networks_info', 'get_network_info',
                       'create_dhcp_port', 'release_dhcp_port',
                       'dhcp_ready_on_ports'):
            setattr(self, method, self._answer(method))

    def _answer(self, method: str) -> Any:
        reply = EXAMPLES / f'default__reply_X__reply-to-{method}.json'

        def answer(context: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.calls[method] = kwargs
            return captured(reply.name) if reply.exists() else None
        return answer


@pytest.fixture(scope='module')
def agent_calls(tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, dict[str, Any]]:
    sqlite_plugin(str(tmp_path_factory.mktemp('conf')))   # loads CONF
    stand_in = NeutronStandIn()
    consumer = common.server(common.PLUGIN, 'neutron-server', [stand_in])
    consumer.start()
    try:
        api = DhcpPluginApi('anchor-host')
        info = api.get_network_info('e842b76b-44b4-466b-9572-432fa9e14482')
        assert info is not None
        api.get_active_networks_info()
        DeviceManager(CONF, api).setup_dhcp_port(dict(info, ports=[]))
        api.release_dhcp_port(info['id'], 'dhcp-device')
        api.dhcp_ready_on_ports(['1b431534-7c3a-4a90-8f42-cb6cddbb30b2'])
    finally:
        consumer.stop()
        consumer.wait()
    return stand_in.calls


AGENT_SIDE = {
    f'neutron__q-plugin__{method}.json': method
    for method in ('get_active_networks_info', 'get_network_info',
                   'create_dhcp_port', 'release_dhcp_port',
                   'dhcp_ready_on_ports')}


@pytest.mark.parametrize('name', sorted(AGENT_SIDE))
def test_agent_call_has_neutrons_arguments(
        agent_calls: dict[str, dict[str, Any]], name: str) -> None:
    neutron = message(name)['args']
    kaon = agent_calls[AGENT_SIDE[name]]
    assert differences(neutron, kaon) == SAME


def test_every_captured_dhcp_message_is_compared() -> None:
    files = {p.name for p in EXAMPLES.glob('*.json')}
    assert files == set(SERVER_SIDE) | set(AGENT_SIDE) | {
        # kaon's agent sends its own state; the server stores it as given.
        'neutron__q-reports-plugin__report_state.json',
        'neutron__q-reports-plugin__report_state__start_flag.json'}


