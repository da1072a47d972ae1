"""kaon's server against Neutron 29's for L2 agents, key by key, as
test_server_payloads does for DHCP agents: what a linuxbridge/OVS agent
gets from a real plugin on SQLite behind the real RPC server (over
kaon://) -- ML2's answers and the agent notifier's fanouts -- compared
with the captured messages (tests/interop/payloads.py).  Neutron's
captures of L2 traffic are in rpc_examples_l2/ (rpc_examples/ holds the
DHCP agent's, every one of which test_agent_payloads checks is compared).
"""
from __future__ import annotations

import json
import pathlib
import threading
import uuid
from typing import Any, Iterator

import oslo_messaging
import pytest

from kaon import naming
from kaon.conf import CONF
from kaon.context import Context
from kaon.rpc import common
from kaon.rpc.service import ServerRpc
from kaon.wire_l2 import NETWORK_DELETE_TOPIC, PORT_DELETE_TOPIC
from tests.interop.payloads import SAME, differences
from tests.support.l2_agent import FakeL2Agent
from tests.support.plugin import network_with_subnet, new_port, sqlite_plugin

ADMIN = Context.admin()
EXAMPLES = pathlib.Path(__file__).parent / 'rpc_examples_l2'


class Fanouts:
    """The agent notifier's port_delete and network_delete, as received."""
    target = oslo_messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.casts: dict[str, dict[str, Any]] = {}
        self.arrived = threading.Condition()

    def _record(self, method: str, kwargs: dict[str, Any]) -> None:
        with self.arrived:
            self.casts[method] = kwargs
            self.arrived.notify_all()

    def port_delete(self, context: Any, **kwargs: Any) -> None:
        self._record('port_delete', kwargs)

    def network_delete(self, context: Any, **kwargs: Any) -> None:
        self._record('network_delete', kwargs)

    def wait_for(self, method: str) -> dict[str, Any]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: method in self.casts, 10), \
                f'no {method}; got {sorted(self.casts)}'
            return self.casts[method]


@pytest.fixture(scope='module')
def answers(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, Any]]:
    plugin = sqlite_plugin(str(tmp_path_factory.mktemp('l2wire')))
    rpc = ServerRpc(plugin).start()
    host = f'kt-{uuid.uuid4().hex[:8]}'
    agent = FakeL2Agent(CONF, host, '10.254.8.1')
    fanouts = Fanouts()
    consumers = [common.server(topic, host, [fanouts])
                 for topic in (PORT_DELETE_TOPIC, NETWORK_DELETE_TOPIC)]
    for consumer in consumers:
        consumer.start()
    try:
        agent.report(start_flag=True)
        net, _ = network_with_subnet(plugin, '10.66.0.0/24')
        port = new_port(plugin, net, **{'binding:host_id': host})
        got = {
            'default__reply_X__reply-to-update_device_list.json':
                agent.devices_up([naming.tap(port['id'])]),
            'default__reply_X__reply-to-get_network_details.json':
                agent.call('get_network_details', version='1.6',
                           network=net['id']),
        }
        plugin.delete('port', ADMIN, port['id'])
        plugin.delete('network', ADMIN, net['id'])
        got['q-agent-notifier-port-delete_fanout__default__port_delete.json'] \
            = fanouts.wait_for('port_delete')
        got['q-agent-notifier-network-delete_fanout__default__'
            'network_delete.json'] = fanouts.wait_for('network_delete')
        yield got
    finally:
        for consumer in consumers:
            consumer.stop()
            consumer.wait()
        agent.close()
        rpc.stop()
        plugin.db.dispose()


def _neutrons(name: str) -> Any:
    """A reply's result, or a cast's arguments."""
    msg = json.loads((EXAMPLES / name).read_text())['body']['oslo.message']
    return msg['result'] if 'result' in msg else msg['args']


NAMES = ['default__reply_X__reply-to-update_device_list.json',
         'default__reply_X__reply-to-get_network_details.json',
         'q-agent-notifier-port-delete_fanout__default__port_delete.json',
         'q-agent-notifier-network-delete_fanout__default__'
         'network_delete.json']


@pytest.mark.parametrize('name', NAMES)
def test_l2_payload_has_neutrons_keys(answers: dict[str, Any],
                                      name: str) -> None:
    kaon, neutron = answers[name], _neutrons(name)
    assert type(kaon) is type(neutron)
    assert differences(neutron, kaon) == SAME


def test_every_captured_l2_answer_is_compared() -> None:
    assert {p.name for p in EXAMPLES.glob('*.json')} == set(NAMES)


def test_update_device_list_is_answered_as_neutron_does(
        answers: dict[str, Any]) -> None:
    """Beyond the keys: the device reported up is listed up."""
    reply = answers['default__reply_X__reply-to-update_device_list.json']
    assert len(reply['devices_up']) == 1 and reply['failed_devices_up'] == []
