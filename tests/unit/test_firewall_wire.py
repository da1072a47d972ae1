"""The firewall's translation fed with the true server answer: kaon's
plugin (SQLite) builds security_group_info_for_devices as Neutron 29
sends it, and the agent's side turns it into nftables text.  The shape
facts (prefix keys by direction, members as [ip, None], fixed_ips as
strings, `stateful`) are what a real Neutron server sends."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from kaon import naming
from kaon.agent.firewall import ports as P, rules as R, script
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc import sg_agent, sg_rpc
from kaon.wire import SecurityGroupInfo
from tests.support.firewall import FakeServer
from tests.support.plugin import network_with_subnet, new_port, sqlite_plugin

ADMIN = Context.admin()


@pytest.fixture
def plugin(tmp_path: Any) -> Iterator[Plugin]:
    made = sqlite_plugin(tmp_path)
    yield made
    made.db.dispose()


def _group(plugin: Plugin, name: str, stateful: bool = True) -> Any:
    return plugin.create('security_group', ADMIN, [{
        'name': name, 'project_id': 'p', 'description': '',
        'stateful': stateful}])[0]


def _rule(plugin: Plugin, group: Any, **body: Any) -> Any:
    return plugin.create('security_group_rule', ADMIN, [dict({
        'security_group_id': group['id'], 'project_id': 'p',
        'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': None,
        'port_range_min': None, 'port_range_max': None,
        'remote_ip_prefix': None, 'remote_group_id': None}, **body)])[0]


def _state(info: SecurityGroupInfo) -> script.State:
    """What the agent hands the driver, as the driver keeps it."""
    state = script.State(zones={naming.bridge('brq', p['network_id']): 1
                                for p in info['devices'].values()})
    for number, (pid, port) in enumerate(info['devices'].items(), 1):
        state.ports[pid] = port
        state.numbers[pid] = number
    for sg, rules in info['security_groups'].items():
        state.set_rules(sg, rules)
    state.members.update(info['sg_member_ips'])
    return state


def test_prefixes_members_and_addresses_from_the_server(plugin: Plugin
                                                        ) -> None:
    net, _ = network_with_subnet(plugin, '10.71.0.0/24')
    web, db = _group(plugin, 'web'), _group(plugin, 'db')
    _rule(plugin, web, protocol='tcp', port_range_min=22, port_range_max=22,
          remote_ip_prefix='10.9.8.7/16')
    _rule(plugin, web, protocol='icmp', remote_group_id=db['id'])
    _rule(plugin, web, direction='egress', protocol='udp',
          remote_ip_prefix='10.5.0.0/24')
    vm = new_port(plugin, net, security_groups=[web['id']])
    peer = new_port(plugin, net, security_groups=[db['id']])
    info = plugin.security_group_info_for_ports(
        ADMIN, [naming.tap(vm['id'])])
    lines = {R.rule_line(r) for r in info['security_groups'][web['id']]}
    # source_ip_prefix (ingress) and dest_ip_prefix (egress) both bind.
    assert 'meta nfproto ipv4 ip saddr 10.9.0.0/16 meta l4proto 6 ' \
        'th dport 22 accept' in lines
    assert 'meta nfproto ipv4 ip daddr 10.5.0.0/24 meta l4proto 17 ' \
        'accept' in lines
    text = script.build('t', _state(info), None, 'brq')
    peer_ip = peer['fixed_ips'][0]['ip_address']
    vm_ip = vm['fixed_ips'][0]['ip_address']
    # The remote group's set holds the peer's address ([ip, None]).
    assert (f'add element inet t {R.remote_set(db["id"], "IPv4")} '
            f'{{ {peer_ip} }}') in text
    # The port's own address (a plain string) binds its MAC and tap.
    assert f'"{naming.tap(vm["id"])}" . {vm["mac_address"]} . {vm_ip}' \
        in text


def test_stateless_group_skips_conntrack(plugin: Plugin) -> None:
    net, _ = network_with_subnet(plugin, '10.72.0.0/24')
    loose = _group(plugin, 'loose', stateful=False)
    _rule(plugin, loose, protocol='tcp')
    vm = new_port(plugin, net, security_groups=[loose['id']])
    info = plugin.security_group_info_for_ports(ADMIN, [vm['id']])
    assert all(r['stateful'] is False
               for r in info['security_groups'][loose['id']])
    text = script.build('t', _state(info), None, 'brq')
    chain = f'add chain inet t {P.port_chain("ingress", vm["id"])}'
    jump = text.split(chain, 1)[1].split('\n')[1]
    assert jump.endswith('jump always-ingress-stateless')
    assert 'ct state' not in ''.join(P.stateless_always('ingress'))


def test_rpc_has_no_namespace_as_neutron() -> None:
    """neutron_lib's RPC_NAMESPACE_SECGROUP is None: a Neutron agent's
    call reaches only a target without a namespace."""
    assert sg_rpc.SecurityGroupServerRpcCallback.target.namespace is None
    assert sg_agent.SecurityGroupServerRpcApi().client.target.namespace \
        is None


def test_fake_server_answers_as_the_plugin(plugin: Plugin) -> None:
    """tests/support/firewall.FakeServer (the data-plane tests' server)
    given the plugin's ports and rules answers exactly as the plugin."""
    net, _ = network_with_subnet(plugin, '10.73.0.0/24')
    web, db = _group(plugin, 'web'), _group(plugin, 'db')
    _rule(plugin, web, protocol='tcp', port_range_min=80, port_range_max=81,
          remote_ip_prefix='10.1.0.0/16')
    _rule(plugin, web, protocol='icmp', remote_group_id=db['id'])
    vm = new_port(plugin, net, security_groups=[web['id']])
    peer = new_port(plugin, net, security_groups=[db['id']])
    taps = [naming.tap(vm['id'])]
    real = plugin.security_group_info_for_ports(ADMIN, taps)
    fake = FakeServer()
    for port in (vm, peer):
        fake.ports[port['id']] = plugin.security_group_info_for_ports(
            ADMIN, [port['id']])['devices'][port['id']]
    # The rules as a test writes them: FakeServer adds `stateful`.
    fake.rules = {sg: [{k: v for k, v in r.items()  # type: ignore[misc]
                        if k != 'stateful'} for r in rules]
                  for sg, rules in real['security_groups'].items()}
    answer = fake.security_group_info_for_devices(taps)
    assert answer['security_groups'] == real['security_groups']
    assert answer['sg_member_ips'] == real['sg_member_ips']
    assert answer['devices'][vm['id']]['device'] == taps[0]
    assert answer['devices'][vm['id']]['fixed_ips'] == \
        real['devices'][vm['id']]['fixed_ips']
