"""A network taken off a DHCP agent keeps its DHCP port, reserved, and the
next agent takes that port over: the DHCP server keeps its address and MAC
(the ones clients renew against and list as DNS server).

The real plugin (SQLite file; PostgreSQL for the race), the server's real
RPC endpoint, and the agent's real DeviceManager deciding which port to
use; agents are rows that really reported state.  Checked as an operator
or an agent sees it: the port in the API, which agent serves what.
"""
from __future__ import annotations

import threading
import types
import uuid
from typing import Any, Iterator

import pytest

from kaon import exceptions as exc
from kaon.agent.linux.device_manager import DeviceManager
from kaon.conf import CONF
from kaon.constants import DEVICE_ID_RESERVED_DHCP_PORT, dhcp_device_id
from kaon.context import Context
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery
from tests.functional import test_dhcp_scheduling as scheduling
from tests.functional.test_dhcp_scheduling import report
from tests.support.dhcp_rpc import InProcessDhcpRpc
from tests.support.plugin import (
    fall_silent,
    network_with_subnet,
)
from tests.support.postgres import PostgresInstance

ADMIN = Context.admin()
# The scheduling tests' fixture: a plugin on a fresh SQLite file.
plugin = scheduling.plugin


def agent_id(plugin: Plugin, host: str) -> str:
    return next(a['id'] for a in plugin.list('agent', ADMIN, ListQuery())
                if a['host'] == host)


def devices(plugin: Plugin, host: str) -> DeviceManager:
    """The DHCP agent on `host`'s DeviceManager, over the server's RPC
    endpoint (no transport)."""
    rpc = InProcessDhcpRpc(types.SimpleNamespace(plugin=plugin), host)
    return DeviceManager(types.SimpleNamespace(host=host), rpc)


def serve(plugin: Plugin, host: str, network_id: str) -> dict[str, Any]:
    """What the agent on `host` does first when it sets the network up:
    find, take over or create its DHCP port."""
    info = plugin.get_network_info(network_id)
    assert info is not None
    return dict(devices(plugin, host).setup_dhcp_port(info))


def dhcp_ports(plugin: Plugin, network_id: str) -> list[dict[str, Any]]:
    return plugin.list('port', ADMIN, ListQuery(filters={
        'network_id': [network_id], 'device_owner': ['network:dhcp']}))


def server_of(port: dict[str, Any]) -> tuple[str, str, str]:
    """What a DHCP client knows of its server: the port's id, IP, MAC."""
    return (port['id'], port['fixed_ips'][0]['ip_address'],
            port['mac_address'])


def hosting(plugin: Plugin, network_id: str) -> list[str]:
    return [a['host'] for a in plugin.get_dhcp_agents_hosting_networks(
        ADMIN, [network_id])]


def served_by_first(plugin: Plugin, cidr: str
                    ) -> tuple[str, dict[str, Any]]:
    """A network scheduled to agent 'first', which made its DHCP port,
    and a second agent alive; the network and the port."""
    report(plugin, 'first')
    net, _ = network_with_subnet(plugin, cidr)
    plugin.schedule_network(ADMIN, net['id'])
    first = serve(plugin, 'first', net['id'])
    report(plugin, 'second')
    return net['id'], first


def test_admin_remove_reserves_the_port_for_the_next_agent(
        plugin: Plugin) -> None:
    net_id, first = served_by_first(plugin, '10.76.0.0/24')

    plugin.remove_network_from_agent(ADMIN, agent_id(plugin, 'first'),
                                     net_id)
    [reserved] = dhcp_ports(plugin, net_id)
    assert server_of(reserved) == server_of(first)
    assert reserved['device_id'] == DEVICE_ID_RESERVED_DHCP_PORT
    assert reserved['binding:host_id'] == 'first'      # as Neutron leaves it
    assert reserved['revision_number'] > first['revision_number']
    # The removed agent, told network_delete_end, releases its own port:
    # there is none any more, the reserved one stays.
    devices(plugin, 'first').release(plugin.get_network_info(net_id))
    assert [p['id'] for p in dhcp_ports(plugin, net_id)] == [first['id']]
    # Nor may it take it back: the network is no longer its own.
    with pytest.raises(exc.NetworkNotHostedByDhcpAgent):
        plugin.update_dhcp_port(ADMIN, 'first', first['id'],
                                {'network_id': net_id})

    plugin.add_network_to_agent(ADMIN, agent_id(plugin, 'second'),
                                net_id)
    second = serve(plugin, 'second', net_id)
    assert server_of(second) == server_of(first)
    [taken] = dhcp_ports(plugin, net_id)
    assert taken['device_id'] == dhcp_device_id('second', net_id)
    assert taken['binding:host_id'] == 'second'
    # Found as its own from now on (an agent restart).
    assert serve(plugin, 'second', net_id)['id'] == first['id']


def test_failover_moves_networks_once_the_agent_is_dead(
        plugin: Plugin) -> None:
    net_id, first = served_by_first(plugin, '10.77.0.0/24')

    fall_silent(plugin, 'first', CONF.agent_down_time - 1)     # alive
    assert plugin.remove_networks_from_down_agents(ADMIN) == []
    fall_silent(plugin, 'first', CONF.agent_down_time + 1)     # dead
    assert plugin.remove_networks_from_down_agents(ADMIN) == [net_id]
    assert hosting(plugin, net_id) == []
    [reserved] = dhcp_ports(plugin, net_id)
    assert reserved['device_id'] == DEVICE_ID_RESERVED_DHCP_PORT

    assert [a['host'] for a in plugin.schedule_network(
        ADMIN, net_id)] == ['second']
    assert server_of(serve(plugin, 'second', net_id)) == server_of(first)
    assert len(dhcp_ports(plugin, net_id)) == 1


def test_failover_keeps_neutrons_timing_when_configured(
        plugin: Plugin) -> None:
    net_id, _ = served_by_first(plugin, '10.78.0.0/24')
    CONF.set_override('dhcp_failover_after', 2 * CONF.agent_down_time)
    try:
        fall_silent(plugin, 'first', 2 * CONF.agent_down_time - 1)
        assert plugin.remove_networks_from_down_agents(ADMIN) == []
        fall_silent(plugin, 'first', 2 * CONF.agent_down_time + 1)
        assert plugin.remove_networks_from_down_agents(ADMIN) == [net_id]
    finally:
        CONF.clear_override('dhcp_failover_after')


def test_nothing_moves_while_no_agent_could_take_it(plugin: Plugin) -> None:
    report(plugin, 'first')
    net, _ = network_with_subnet(plugin, '10.79.0.0/24')
    plugin.schedule_network(ADMIN, net['id'])
    first = serve(plugin, 'first', net['id'])
    fall_silent(plugin, 'first', 10 * CONF.agent_down_time)
    assert plugin.remove_networks_from_down_agents(ADMIN) == []
    assert hosting(plugin, net['id']) == ['first']
    report(plugin, 'first')                 # back: its port as it left it
    assert serve(plugin, 'first', net['id'])['id'] == first['id']
    assert dhcp_ports(plugin, net['id'])[0]['device_id'] == \
        dhcp_device_id('first', net['id'])


# -- two agents racing for one reserved port, on PostgreSQL ---------------

RACES = 8


@pytest.fixture(scope='module')
def pg_plugin() -> Iterator[Plugin]:
    with PostgresInstance() as pg:
        db = Database(pg.create_database('kaon_' + uuid.uuid4().hex[:12]))
        migrate.upgrade(db.engine)
        yield Plugin(db)
        db.dispose()


def _reserved_network(plugin: Plugin, n: int) -> tuple[str, str]:
    """A network served by 'a' and 'b' with the reserved port of a third
    agent that was removed from it; returns network and port id."""
    net, _ = network_with_subnet(plugin, f'10.79.{n}.0/24')
    gone = f'gone-{n}'
    report(plugin, gone)
    plugin.add_network_to_agent(ADMIN, agent_id(plugin, gone), net['id'])
    port = serve(plugin, gone, net['id'])
    plugin.remove_network_from_agent(ADMIN, agent_id(plugin, gone),
                                     net['id'])
    for host in ('a', 'b'):
        plugin.add_network_to_agent(ADMIN, agent_id(plugin, host), net['id'])
    return net['id'], port['id']


@pytest.mark.postgres
def test_two_agents_racing_for_a_reserved_port_one_wins(
        pg_plugin: Plugin) -> None:
    plugin = pg_plugin
    report(plugin, 'a')
    report(plugin, 'b')
    for n in range(RACES):
        network_id, reserved_id = _reserved_network(plugin, n)
        info = plugin.get_network_info(network_id)
        assert info is not None
        start = threading.Barrier(2)
        got: dict[str, Any] = {}

        def agent(host: str, info: Any = info,
                  start: threading.Barrier = start,
                  got: dict[str, Any] = got) -> None:
            manager = devices(plugin, host)
            start.wait()
            got[host] = manager.setup_dhcp_port(info)

        threads = [threading.Thread(target=agent, args=(h,))
                   for h in ('a', 'b')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        winners = [h for h in ('a', 'b') if got[h]['id'] == reserved_id]
        assert len(winners) == 1, (n, got)
        [loser] = {'a', 'b'} - set(winners)
        ports = {p['id']: p for p in dhcp_ports(plugin, network_id)}
        assert set(ports) == {reserved_id, got[loser]['id']}
        assert ports[reserved_id]['device_id'] == \
            dhcp_device_id(winners[0], network_id)
        assert ports[reserved_id]['binding:host_id'] == winners[0]
        assert ports[got[loser]['id']]['binding:host_id'] == loser
