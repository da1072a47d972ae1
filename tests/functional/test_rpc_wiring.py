"""How a server wires its RPC side: one notifier per plugin, whoever
started it, and failover that casts through it.

Over the real kaon:// transport, with a real consumer on the agent's topic
(tests.support.plugin's Recorder) and a real plugin on a SQLite file.
"""
from __future__ import annotations

import threading
import uuid
from typing import Any, Iterator

import pytest

from kaon.conf import CONF
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.rpc import common
from kaon.rpc.notifier import DhcpAgentNotifier
from kaon.rpc.service import ServerRpc
from tests.support.plugin import (
    Recorder,
    network_with_subnet,
    new_port,
    sqlite_plugin,
)

ADMIN = Context.admin()
Shared = tuple[Plugin, DhcpAgentNotifier]
Agent = tuple[str, Recorder]     # the agent's host, its casts


def agent_state(host: str) -> dict[str, Any]:
    return {'binary': 'kaon-dhcp-agent', 'host': host, 'topic': 'dhcp_agent',
            'agent_type': 'DHCP agent', 'configurations': {'networks': 0},
            'start_flag': True}


@pytest.fixture
def shared(tmp_path: Any) -> Iterator[Shared]:
    """One plugin for the API and the RPC service: a server process in
    which both run (threaded, embedded), with the notifier passed in."""
    plugin = sqlite_plugin(tmp_path)
    CONF.set_override('agent_down_time', 2)
    notifier = DhcpAgentNotifier(plugin).start()
    rpc = ServerRpc(plugin, notifier).start()
    yield plugin, notifier
    rpc.stop()
    notifier.stop()
    plugin.db.dispose()
    CONF.clear_override('agent_down_time')


@pytest.fixture
def agent() -> Iterator[Agent]:
    host = f'kt-{uuid.uuid4().hex[:8]}'
    recorder = Recorder()
    consumer = common.server(common.DHCP_AGENT, host, [recorder])
    consumer.start()
    yield host, recorder
    consumer.stop()
    consumer.wait()


def test_a_shared_notifier_casts_each_event_once(
        shared: Shared, agent: Agent) -> None:
    plugin, notifier = shared
    host, recorder = agent
    plugin.report_state(agent_state(host))
    net, _ = network_with_subnet(plugin, '10.76.0.0/24')
    port = new_port(plugin, net)
    recorder.wait_for('port_create_end')
    notifier.wait_idle()
    assert recorder.methods() == ['network_create_end', 'subnet_create_end',
                                  'port_create_end']
    assert recorder.wait_for('port_create_end')[0]['port']['id'] == \
        port['id']


def test_failover_gives_a_dead_agents_network_to_a_live_one(
        shared: Shared, agent: Agent) -> None:
    plugin, notifier = shared
    host, recorder = agent
    plugin.report_state(agent_state('kt-dead'))
    net, _ = network_with_subnet(plugin, '10.77.0.0/24')
    notifier.wait_idle()
    hosting = plugin.get_dhcp_agents_hosting_networks(ADMIN, [net['id']])
    assert [a['host'] for a in hosting] == ['kt-dead']

    # The live agent heartbeats as a real one does; the dead one is silent.
    stop = threading.Event()

    def heartbeat() -> None:
        while True:
            plugin.report_state(agent_state(host))
            if stop.wait(0.5):
                return
    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        created = recorder.wait_for('network_create_end', timeout=15)
    finally:
        stop.set()
        beating.join()
    assert created == [{'network': {'id': net['id']}, 'priority': 0}]
    hosting = plugin.get_dhcp_agents_hosting_networks(ADMIN, [net['id']])
    assert [a['host'] for a in hosting] == [host]
