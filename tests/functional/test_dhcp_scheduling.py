"""The plugin's DHCP side, as RPC, the notifier and failover use it.

Real plugin on a real SQLite file, agents that really report state; what
is checked is what an operator or an agent would see: which agent serves
which network, which ports exist, which events leave the plugin.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.constants import dhcp_device_id
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery
from tests.support.plugin import (
    fall_silent,
    network_with_subnet,
    sqlite_plugin,
)

ADMIN = Context.admin()


@pytest.fixture
def plugin(tmp_path: Any) -> Iterator[Plugin]:
    plugin = sqlite_plugin(tmp_path)
    yield plugin
    plugin.db.dispose()


def report(plugin: Plugin, host: str) -> str:
    return plugin.report_state({
        'binary': 'kaon-dhcp-agent', 'host': host, 'topic': 'dhcp_agent',
        'agent_type': 'DHCP agent', 'configurations': {'networks': 0},
        'start_flag': True})


def hosts(agents: list[dict[str, Any]]) -> list[str]:
    return [a['host'] for a in agents]


def recorded(plugin: Plugin, resource: str, event: str
             ) -> list[dict[str, Any]]:
    """The payloads of the plugin's events, as a subscriber gets them."""
    payloads: list[dict[str, Any]] = []
    plugin.events.subscribe(resource, event,
                            lambda _r, _e, _c, p: payloads.append(p))
    return payloads


def test_an_agent_asking_for_its_networks_is_given_the_unhosted_ones(
        plugin: Plugin) -> None:
    report(plugin, 'first')
    report(plugin, 'second')
    net, subnet = network_with_subnet(plugin, '10.71.0.0/24')
    infos = plugin.get_active_networks_info(ADMIN, 'first')
    assert [i['id'] for i in infos] == [net['id']]
    assert [s['id'] for s in infos[0]['subnets']] == [subnet['id']]
    # One agent per network (dhcp_agents_per_network): none left over.
    assert plugin.get_active_networks_info(ADMIN, 'second') == []
    assert hosts(plugin.get_dhcp_agents_hosting_networks(
        ADMIN, [net['id']])) == ['first']
    info = plugin.get_network_info(net['id'])
    assert info is not None and info['id'] == net['id']
    assert plugin.get_network_info(str(uuid.uuid4())) is None


def test_hosting_tells_the_notifier_whether_to_schedule(
        plugin: Plugin) -> None:
    net, _ = network_with_subnet(plugin, '10.72.0.0/24')
    nobody = plugin.dhcp_hosting(ADMIN, net['id'], schedule=True)
    assert (nobody.agents, nobody.can_add_agent, nobody.network) == \
        ([], False, None)
    report(plugin, 'first')
    short = plugin.dhcp_hosting(ADMIN, net['id'], schedule=True)
    assert short.can_add_agent and short.network is not None
    assert short.network['id'] == net['id']
    assert not plugin.dhcp_hosting(ADMIN, net['id'],
                                   schedule=False).can_add_agent
    assert hosts(plugin.schedule_network(ADMIN, net['id'])) == ['first']
    assert plugin.schedule_network(ADMIN, net['id']) == []
    full = plugin.dhcp_hosting(ADMIN, net['id'], schedule=True)
    assert hosts(full.agents) == ['first'] and not full.can_add_agent
    assert full.network is not None and full.network['id'] == net['id']


def test_failover_moves_a_dead_agents_network_to_a_live_one(
        plugin: Plugin) -> None:
    report(plugin, 'first')
    net, _ = network_with_subnet(plugin, '10.73.0.0/24')
    plugin.schedule_network(ADMIN, net['id'])
    fall_silent(plugin, 'first', 2 * CONF.agent_down_time - 1)
    assert plugin.remove_networks_from_down_agents(ADMIN) == []
    fall_silent(plugin, 'first', 2 * CONF.agent_down_time + 1)
    report(plugin, 'second')
    assert plugin.remove_networks_from_down_agents(ADMIN) == [net['id']]
    assert plugin.get_dhcp_agents_hosting_networks(ADMIN, [net['id']]) == []
    assert hosts(plugin.schedule_network(ADMIN, net['id'])) == ['second']
    assert plugin.get_active_networks_info(ADMIN, 'first') == []


def test_an_agent_may_change_only_its_own_dhcp_port(plugin: Plugin) -> None:
    report(plugin, 'first')
    net, subnet = network_with_subnet(plugin, '10.74.0.0/24')
    created = recorded(plugin, 'port', 'create')
    updated = recorded(plugin, 'port', 'update')
    body = {'network_id': net['id'], 'project_id': 'p',
            'device_id': dhcp_device_id('first', net['id']),
            'fixed_ips': [{'subnet_id': subnet['id']}]}
    port = plugin.create_dhcp_port(ADMIN, 'first', body)
    assert port['device_owner'] == 'network:dhcp'
    assert port['binding:host_id'] == 'first'
    assert plugin.create_dhcp_port(ADMIN, 'first', body)['id'] == port['id']
    assert [p['port']['id'] for p in created] == [port['id']]

    vm = plugin.create('port', ADMIN, [{'network_id': net['id'],
                                        'project_id': 'p',
                                        'device_id': 'vm'}])[0]
    with pytest.raises(exc.NetworkNotFound):
        plugin.update_dhcp_port(ADMIN, 'first', vm['id'], {'name': 'mine'})
    with pytest.raises(exc.NetworkNotFound):
        plugin.update_dhcp_port(ADMIN, 'second', port['id'], {'name': 'x'})
    assert updated == []

    after = plugin.update_dhcp_port(ADMIN, 'first', port['id'], {
        'name': 'dhcp', 'device_owner': 'compute:nova'})
    assert (after['name'], after['device_owner']) == ('dhcp', 'network:dhcp')
    assert updated[0]['original_port']['name'] == ''
    assert updated[0]['port']['name'] == 'dhcp'


def test_releasing_the_dhcp_port_deletes_it_and_says_so(
        plugin: Plugin) -> None:
    report(plugin, 'first')
    net, subnet = network_with_subnet(plugin, '10.75.0.0/24')
    device_id = dhcp_device_id('first', net['id'])
    port = plugin.create_dhcp_port(ADMIN, 'first', {
        'network_id': net['id'], 'device_id': device_id,
        'fixed_ips': [{'subnet_id': subnet['id']}]})
    deleted = recorded(plugin, 'port', 'delete')
    plugin.release_dhcp_port(ADMIN, net['id'], device_id)
    assert plugin.list('port', ADMIN, ListQuery(
        filters={'network_id': [net['id']]})) == []
    assert [(d['port_id'], d['removed']['fixed_ips']) for d in deleted] == \
        [(port['id'], port['fixed_ips'])]
    plugin.release_dhcp_port(ADMIN, net['id'], device_id)   # none: no-op
    assert len(deleted) == 1
