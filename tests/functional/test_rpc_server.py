"""The server's RPC side over the real kaon:// transport: what an agent sees.

A real oslo.messaging consumer on `dhcp_agent.<host>` stands where the DHCP
agent would, recording the casts; the calls go through the same clients the
agent uses.  The plugin runs on a real SQLite file.
"""
from __future__ import annotations

import uuid

import pytest

from kaon.conf import CONF
from kaon.context import Context
from kaon.plugin.query import ListQuery
from kaon.rpc import common
from kaon.rpc.agent_api import DhcpPluginApi, PluginReportStateAPI
from kaon.rpc.service import ServerRpc
from tests.support.plugin import (
    Recorder,
    fall_silent,
    network_with_subnet,
    new_port,
    sqlite_plugin,
)

ADMIN = Context.admin()
@pytest.fixture
def stack(tmp_path):
    plugin = sqlite_plugin(tmp_path)
    rpc = ServerRpc(plugin).start()
    host = f'kt-{uuid.uuid4().hex[:8]}'
    recorder = Recorder()
    consumer = common.server(common.DHCP_AGENT, host, [recorder])
    consumer.start()
    state = {'binary': 'kaon-dhcp-agent', 'host': host, 'topic': 'dhcp_agent',
             'agent_type': 'DHCP agent', 'availability_zone': 'nova',
             'configurations': {'networks': 0}, 'start_flag': True}
    yield plugin, rpc, recorder, host, state
    consumer.stop()
    consumer.wait()
    rpc.stop()
    plugin.db.dispose()


def test_report_state_says_new_alive_then_revived(stack):
    plugin, _, _, host, state = stack
    reports = PluginReportStateAPI()
    assert reports.report_state(state) == 'new'
    assert reports.report_state(dict(state, start_flag=False)) == 'alive'
    fall_silent(plugin, host, CONF.agent_down_time + 1)
    assert reports.report_state(state) == 'revived'
    agents = plugin.list('agent', ADMIN, ListQuery(filters={'host': [host]}))
    assert agents[0]['alive'] and agents[0]['agent_type'] == 'DHCP agent'


def test_subnet_create_schedules_then_port_events_reach_the_agent(stack):
    plugin, rpc, recorder, _, state = stack
    PluginReportStateAPI().report_state(state)
    net = plugin.create('network', ADMIN, [{'name': 'n', 'project_id': 'p',
                                            'admin_state_up': True,
                                            'mtu': 1500}])[0]
    rpc.notifier.wait_idle()
    assert recorder.casts == []   # nothing on network create
    net, subnet = net, plugin.create('subnet', ADMIN, [{
        'network_id': net['id'], 'project_id': 'p', 'ip_version': 4,
        'cidr': '10.62.0.0/24', 'enable_dhcp': True}])[0]
    created = recorder.wait_for('network_create_end')
    assert created == [{'network': {'id': net['id']}, 'priority': 0}]
    sub_cast = recorder.wait_for('subnet_create_end')[0]
    assert sub_cast['subnet']['id'] == subnet['id']
    assert sub_cast['subnet']['network']['id'] == net['id']
    assert sub_cast['priority'] == 3

    port = new_port(plugin, net)
    port_cast = recorder.wait_for('port_create_end')[0]
    assert port_cast['port']['mac_address'] == port['mac_address']
    assert port_cast['port']['network']['id'] == net['id']
    assert port_cast['priority'] == 5    # the only agent answers first

    plugin.update('port', ADMIN, port['id'], {'name': 'renamed'})
    rpc.notifier.wait_idle()
    assert 'port_update_end' not in recorder.methods()
    plugin.update('port', ADMIN, port['id'], {
        'fixed_ips': [{'ip_address': '10.62.0.99'}]})
    updated = recorder.wait_for('port_update_end')[0]['port']
    assert updated['fixed_ips'][0]['ip_address'] == '10.62.0.99'

    plugin.delete('port', ADMIN, port['id'])
    deleted = recorder.wait_for('port_delete_end')[0]
    assert deleted['port_id'] == port['id']
    assert deleted['network_id'] == net['id']
    assert deleted['fixed_ips'][0]['ip_address'] == '10.62.0.99'

    plugin.delete('network', ADMIN, net['id'])
    assert recorder.wait_for('network_delete_end')[0]['network_id'] == \
        net['id']


def test_dhcp_port_rpc_and_readiness(stack):
    plugin, _, _, host, state = stack
    PluginReportStateAPI().report_state(state)
    net, subnet = network_with_subnet(plugin, '10.63.0.0/24')
    api = DhcpPluginApi(host)
    infos = api.get_active_networks_info()
    assert [n['id'] for n in infos] == [net['id']]   # auto-scheduled
    device_id = f'dhcp-kt-{net["id"]}'
    dhcp_port = api.create_dhcp_port({'port': {
        'network_id': net['id'], 'device_id': device_id, 'name': '',
        'fixed_ips': [{'subnet_id': subnet['id']}], 'admin_state_up': True,
        'project_id': 'p'}})
    assert dhcp_port['device_owner'] == 'network:dhcp'
    assert dhcp_port['binding:host_id'] == host
    vm_port = new_port(plugin, net)
    info = api.get_network_info(net['id'])
    # Exactly the keys of Neutron's answer (shared/rpc-examples).
    assert set(info) == {'id', 'admin_state_up', 'mtu', 'project_id',
                         'subnets', 'non_local_subnets', 'ports'}
    assert {p['id'] for p in info['ports']} == {dhcp_port['id'], vm_port['id']}
    assert [s['id'] for s in info['subnets']] == [subnet['id']]
    api.dhcp_ready_on_ports([vm_port['id']])
    assert plugin.get('port', ADMIN, vm_port['id'])['status'] == 'ACTIVE'
    api.release_dhcp_port(net['id'], device_id)
    remaining = plugin.list('port', ADMIN, ListQuery(
        filters={'network_id': [net['id']]}))
    assert [p['id'] for p in remaining] == [vm_port['id']]


def test_a_second_dhcp_port_create_for_one_device_gets_the_first(stack):
    """An agent's full sync and a queued event may both set a network up:
    the second create_dhcp_port must not leave a stale twin port."""
    plugin, _, _, host, state = stack
    PluginReportStateAPI().report_state(state)
    net, subnet = network_with_subnet(plugin, '10.64.0.0/24')
    api = DhcpPluginApi(host)
    body = {'port': {
        'network_id': net['id'], 'device_id': f'dhcp-kt-{net["id"]}',
        'name': '', 'fixed_ips': [{'subnet_id': subnet['id']}],
        'admin_state_up': True, 'project_id': 'p'}}
    first, second = api.create_dhcp_port(body), api.create_dhcp_port(body)
    assert second['id'] == first['id']
    assert second['fixed_ips'] == first['fixed_ips']
    ports = plugin.list('port', ADMIN, ListQuery(
        filters={'network_id': [net['id']]}))
    assert [p['id'] for p in ports] == [first['id']]


def test_a_dead_agent_gets_no_networks_and_a_down_agent_no_casts(stack):
    plugin, rpc, recorder, host, state = stack
    PluginReportStateAPI().report_state(state)
    fall_silent(plugin, host, CONF.agent_down_time + 1)
    net, _ = network_with_subnet(plugin, '10.64.0.0/24')
    rpc.notifier.wait_idle()
    assert recorder.casts == []
    assert DhcpPluginApi(host).get_active_networks_info() == []
