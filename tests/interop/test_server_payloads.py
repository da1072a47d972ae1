"""kaon's server against Neutron 29's, key by key, file by file: what a DHCP
agent gets from a real plugin on SQLite behind the real RPC server (over
kaon://), for every captured answer and cast (tests/interop/payloads.py).
"""
from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from kaon.agent.linux.device_manager import DeviceManager
from kaon.conf import CONF
from kaon.context import Context
from kaon.rpc import common
from kaon.rpc.agent_api import DhcpPluginApi, PluginReportStateAPI
from kaon.rpc.service import ServerRpc
from tests.interop.payloads import SAME, captured, differences
from tests.support.plugin import Recorder, sqlite_plugin

ADMIN = Context.admin()


class Server:
    """One kaon plugin and RPC server, one recorded agent on it, and one
    network exercised through every event a DHCP agent hears of."""

    def __init__(self, directory: str) -> None:
        self.plugin = sqlite_plugin(directory)
        self.rpc = ServerRpc(self.plugin).start()
        self.host = f'kt-{uuid.uuid4().hex[:8]}'
        self.recorder = Recorder()
        self.consumer = common.server(common.DHCP_AGENT, self.host,
                                      [self.recorder])
        self.consumer.start()
        self.agent_api = DhcpPluginApi(self.host)
        self.replies: dict[str, Any] = {}
        self._run()

    def _run(self) -> None:
        state = {'binary': 'neutron-dhcp-agent', 'host': self.host,
                 'topic': 'dhcp_agent', 'agent_type': 'DHCP agent',
                 'availability_zone': 'nova', 'start_flag': True,
                 'configurations': {'networks': 0}}
        self.replies['report_state'] = PluginReportStateAPI().report_state(
            state)
        plugin = self.plugin
        net = plugin.create('network', ADMIN, [{
            'name': 'n', 'project_id': 'p', 'admin_state_up': True,
            'mtu': 1500}])[0]
        sub = plugin.create('subnet', ADMIN, [{
            'network_id': net['id'], 'project_id': 'p', 'ip_version': 4,
            'cidr': '10.64.0.0/24', 'enable_dhcp': True}])[0]
        self.recorder.wait_for('subnet_create_end')
        self.replies['create_dhcp_port'] = DeviceManager(
            CONF, self.agent_api).setup_dhcp_port(
                self.agent_api.get_network_info(net['id']) or {})
        port = plugin.create('port', ADMIN, [{
            'network_id': net['id'], 'project_id': 'p', 'device_owner': '',
            'device_id': '', 'name': 'p'}])[0]
        self.recorder.wait_for('port_create_end')
        self.replies['get_network_info'] = self.agent_api.get_network_info(
            net['id'])
        self.replies['get_active_networks_info'] = \
            self.agent_api.get_active_networks_info()
        plugin.update('port', ADMIN, port['id'], {'extra_dhcp_opts': [
            {'opt_name': 'mtu', 'opt_value': '1400', 'ip_version': 4}]})
        plugin.update('subnet', ADMIN, sub['id'],
                      {'dns_nameservers': ['10.64.0.53']})
        plugin.delete('port', ADMIN, port['id'])
        plugin.delete('subnet', ADMIN, sub['id'])
        plugin.delete('network', ADMIN, net['id'])
        # The last cast: the notifier keeps the order of one network's.
        self.recorder.wait_for('network_delete_end')

    def cast(self, method: str, dhcp_port: bool | None = None
             ) -> dict[str, Any]:
        """The first `method` cast (of the agent's DHCP port or not)."""
        for name, payload in self.recorder.casts:
            if name == method and (dhcp_port is None or dhcp_port == (
                    payload['port']['device_owner'] == 'network:dhcp')):
                return payload
        raise AssertionError(f'no {method} cast; got '
                             f'{self.recorder.methods()}')

    def close(self) -> None:
        self.consumer.stop()
        self.consumer.wait()
        self.rpc.stop()
        self.plugin.db.dispose()


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = Server(str(tmp_path_factory.mktemp('wire')))
    yield env
    env.close()


# example file -> what kaon sends in its place
SERVER_SIDE = {
    'default__reply_X__reply-to-get_network_info.json':
        lambda s: s.replies['get_network_info'],
    'default__reply_X__reply-to-get_active_networks_info.json':
        lambda s: s.replies['get_active_networks_info'],
    'default__reply_X__reply-to-create_dhcp_port.json':
        lambda s: s.replies['create_dhcp_port'],
    'default__reply_X__reply-to-report_state.json':
        lambda s: s.replies['report_state'],
    'neutron__dhcp_agent.anchor-host__network_create_end.json':
        lambda s: s.cast('network_create_end'),
    'neutron__dhcp_agent.anchor-host__subnet_create_end.json':
        lambda s: s.cast('subnet_create_end'),
    'neutron__dhcp_agent.anchor-host__subnet_update_end.json':
        lambda s: s.cast('subnet_update_end'),
    'neutron__dhcp_agent.anchor-host__subnet_delete_end.json':
        lambda s: s.cast('subnet_delete_end'),
    'neutron__dhcp_agent.anchor-host__port_create_end.json':
        lambda s: s.cast('port_create_end', dhcp_port=True),
    'neutron__dhcp_agent.anchor-host__port_create_end__user_port.json':
        lambda s: s.cast('port_create_end', dhcp_port=False),
    'neutron__dhcp_agent.anchor-host__port_update_end.json':
        lambda s: s.cast('port_update_end'),
    'neutron__dhcp_agent.anchor-host__port_delete_end.json':
        lambda s: s.cast('port_delete_end'),
    'dhcp_agent_fanout__default__network_delete_end.json':
        lambda s: s.cast('network_delete_end'),
}


@pytest.mark.parametrize('name', sorted(SERVER_SIDE))
def test_server_payload_has_neutrons_keys(server: Server, name: str) -> None:
    kaon = SERVER_SIDE[name](server)
    neutron = captured(name)
    assert type(kaon) is type(neutron)
    assert differences(neutron, kaon) == SAME
