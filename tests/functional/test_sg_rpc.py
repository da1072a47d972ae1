"""The server side of the firewall RPC over the real kaon:// transport:
security_group_info_for_devices answered as Neutron's server answers it,
and the security-group casts a firewall agent hears, compared with the
cast Neutron sends (shared/rpc-examples)."""
from __future__ import annotations

import json
import pathlib
import threading
import uuid

import oslo_messaging
import pytest

from kaon.context import Context
from kaon.rpc import common
from kaon.rpc.service import ServerRpc
from kaon.rpc.sg_notifier import TOPIC
from kaon.rpc.sg_rpc import SecurityGroupServerRpcApi
from tests.support.plugin import network_with_subnet, new_port, sqlite_plugin

ADMIN = Context.admin()
EXAMPLES = pathlib.Path('/work/shared/rpc-examples')
MEMBER_CAST = EXAMPLES / ('q-agent-notifier-security_group-update_fanout__'
                          'default__security_groups_member_updated.json')


class Firewall:
    """Stands where a firewall agent would: records the casts it gets."""
    target = oslo_messaging.Target(version='1.1')

    def __init__(self) -> None:
        self.casts: list[tuple[str, dict, list[str]]] = []
        self.arrived = threading.Condition()

    def _record(self, method: str, context: dict, groups: list[str]) -> None:
        with self.arrived:
            self.casts.append((method, context, groups))
            self.arrived.notify_all()

    def security_groups_rule_updated(self, context, security_groups):
        self._record('security_groups_rule_updated', context,
                     security_groups)

    def security_groups_member_updated(self, context, security_groups):
        self._record('security_groups_member_updated', context,
                     security_groups)

    def wait_for(self, method: str, groups: list[str]) -> dict:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(
                m == method and g == groups for m, _, g in self.casts), 5), \
                self.casts
        return next(c for m, c, g in self.casts
                    if m == method and g == groups)


@pytest.fixture
def stack(tmp_path):
    plugin = sqlite_plugin(tmp_path)
    rpc = ServerRpc(plugin).start()
    firewall = Firewall()
    consumer = common.server(TOPIC, f'fw-{uuid.uuid4().hex[:8]}', [firewall])
    consumer.start()
    yield plugin, rpc, firewall
    consumer.stop()
    consumer.wait()
    rpc.stop()
    plugin.db.dispose()


def _group(plugin, name):
    return plugin.create('security_group', ADMIN, [{
        'name': name, 'project_id': 'p', 'description': '',
        'stateful': True}])[0]


def _rule(plugin, group, **body):
    return plugin.create('security_group_rule', ADMIN, [dict({
        'security_group_id': group['id'], 'project_id': 'p',
        'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': None,
        'port_range_min': None, 'port_range_max': None,
        'remote_ip_prefix': None, 'remote_group_id': None}, **body)])[0]


def test_info_for_devices_has_neutrons_shape(stack):
    plugin, _, _ = stack
    net, _ = network_with_subnet(plugin, '10.64.0.0/24')
    web, db = _group(plugin, 'web'), _group(plugin, 'db')
    _rule(plugin, web, protocol='tcp', port_range_min=22, port_range_max=22,
          remote_group_id=db['id'])
    _rule(plugin, web, direction='egress', remote_ip_prefix='10.9.8.7/16')
    vm = new_port(plugin, net, security_groups=[web['id']])
    peer = new_port(plugin, net, security_groups=[db['id']])
    info = SecurityGroupServerRpcApi().security_group_info_for_devices(
        ['tap' + vm['id'][:11], 'no-such-port'])
    assert set(info) == {'devices', 'security_groups', 'sg_member_ips'}
    assert list(info['devices']) == [vm['id']]
    device = info['devices'][vm['id']]
    assert device['device'] == 'tap' + vm['id'][:11]
    assert device['fixed_ips'] == [vm['fixed_ips'][0]['ip_address']]
    assert device['security_groups'] == [web['id']]
    assert device['port_security_enabled'] is True
    assert device['security_group_source_groups'] == [db['id']]
    assert device['security_group_remote_address_groups'] == []
    # The provider rules: DHCP replies to the port's address and to
    # broadcast, nothing for IPv6 (the port has none).
    assert {r['dest_ip_prefix'] for r in device['security_group_rules']} \
        == {vm['fixed_ips'][0]['ip_address'] + '/32', '255.255.255.255/32',
            'fe80::/64'}
    rules = info['security_groups'][web['id']]
    # Only the keys whose value is not None, the prefix by direction.
    assert {'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'tcp',
            'port_range_min': 22, 'port_range_max': 22,
            'remote_group_id': db['id'], 'stateful': True} in rules
    assert {'direction': 'egress', 'ethertype': 'IPv4',
            'dest_ip_prefix': '10.9.0.0/16', 'stateful': True} in rules
    assert {'direction': 'egress', 'ethertype': 'IPv6',
            'stateful': True} in rules
    assert info['sg_member_ips'] == {db['id']: {'IPv4': [
        [peer['fixed_ips'][0]['ip_address'], None]]}}


def test_dhcp_ports_are_not_devices(stack):
    plugin, _, _ = stack
    net, _ = network_with_subnet(plugin, '10.65.0.0/24')
    dhcp = new_port(plugin, net, device_owner='network:dhcp')
    assert (dhcp['security_groups'], dhcp['port_security_enabled']) == \
        ([], False)
    info = SecurityGroupServerRpcApi().security_group_info_for_devices(
        [dhcp['id']])
    assert info == {'devices': {}, 'security_groups': {},
                    'sg_member_ips': {}}


def test_casts_follow_rules_and_members(stack):
    plugin, _, firewall = stack
    net, _ = network_with_subnet(plugin, '10.66.0.0/24')
    web = _group(plugin, 'web')
    rule = _rule(plugin, web, protocol='udp')
    firewall.wait_for('security_groups_rule_updated', [web['id']])
    port = new_port(plugin, net, security_groups=[web['id']])
    context = firewall.wait_for('security_groups_member_updated', [web['id']])
    # Key by key as Neutron casts it.
    captured = json.loads(MEMBER_CAST.read_text())
    message = captured['body']['oslo.message']
    assert captured['exchange'] == f'{TOPIC}_fanout'
    assert message['method'] == 'security_groups_member_updated'
    assert message['version'] == '1.1'
    assert set(message['args']) == {'security_groups'}
    assert set(context) == {key.removeprefix('_context_') for key in message
                            if key.startswith('_context_')}
    plugin.update('port', ADMIN, port['id'], {
        'fixed_ips': [{'ip_address': '10.66.0.99'}]})
    firewall.casts.clear()
    plugin.update('port', ADMIN, port['id'], {'security_groups': []})
    firewall.wait_for('security_groups_member_updated', [web['id']])
    plugin.delete('security_group_rule', ADMIN, rule['id'])
    firewall.wait_for('security_groups_rule_updated', [web['id']])
    # A deleted group takes the rules naming it: their group hears it.
    other = _group(plugin, 'other')
    _rule(plugin, web, remote_group_id=other['id'])
    firewall.casts.clear()
    plugin.delete('security_group', ADMIN, other['id'])
    firewall.wait_for('security_groups_rule_updated', [web['id']])


def test_address_pair_change_casts_member_update(stack):
    plugin, _, firewall = stack
    net, _ = network_with_subnet(plugin, '10.69.0.0/24')
    web = _group(plugin, 'web')
    port = new_port(plugin, net, security_groups=[web['id']])
    firewall.wait_for('security_groups_member_updated', [web['id']])
    firewall.casts.clear()
    plugin.update('port', ADMIN, port['id'], {
        'allowed_address_pairs': [{'ip_address': '10.69.0.250'}]})
    firewall.wait_for('security_groups_member_updated', [web['id']])
    firewall.casts.clear()
    plugin.update('port', ADMIN, port['id'], {'allowed_address_pairs': []})
    firewall.wait_for('security_groups_member_updated', [web['id']])
