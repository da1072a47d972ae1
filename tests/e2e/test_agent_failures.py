"""A network the agent cannot serve stays a failure of that network alone.

The cause is real: another process in the network's namespace holds UDP
port 67, so the network's dnsmasq exits at start with "failed to bind DHCP
server socket: Address already in use" after the agent made the namespace,
the bridge and the veth.  One `kaon server --dhcp-agent` process serves the
API and the agent (as tests/e2e/test_dhcp_path.py).  Checked as an
operator would: another network on the same agent is served, the agent
retries with growing gaps, one traceback, the reason in `openstack network
agent show`, and nothing of the network is left on the host once it is
deleted or the agent has stopped.
"""
from __future__ import annotations

import datetime
import re
import subprocess
import sys
import uuid
from typing import Iterator

import pytest

from kaon.agent.linux import ip_lib
from tests.e2e.conftest import BRIDGE_PREFIX, NS_PREFIX, cleanup
from tests.support.agent import wait_for
from tests.support.api import Api
from tests.support.server import KaonServer

pytestmark = pytest.mark.slow

HOLD_PORT_67 = '''
import signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 67))
print("bound", flush=True)
signal.pause()
'''


class Host:
    """The server + agent, and the port-67 holders the test started."""

    def __init__(self) -> None:
        self.server = KaonServer(server_args=('--dhcp-agent',), options={
            'host': f'kt-host-{uuid.uuid4().hex[:6]}',
            'dhcp_namespace_prefix': NS_PREFIX,
            'bridge_prefix': BRIDGE_PREFIX, 'report_interval': 1,
            'check_child_processes_interval': 1, 'dhcp_check_interval': 1})
        self.holders: list[subprocess.Popen] = []
        self.namespaces: list[str] = []
        self.api: Api | None = None

    def broken_network(self, cidr: str) -> tuple[dict, str]:
        """A network with a DHCP subnet whose namespace already has a
        process on port 67; returns it and its DHCP port's tap name."""
        assert self.api is not None
        net = self.api.post('network', name='kt-broken')
        namespace = NS_PREFIX + net['id']
        self.namespaces.append(namespace)
        ip_lib.ensure_namespace(namespace)
        holder = subprocess.Popen(
            ['ip', 'netns', 'exec', namespace, sys.executable, '-c',
             HOLD_PORT_67], stdout=subprocess.PIPE, text=True)
        self.holders.append(holder)
        assert holder.stdout.readline().strip() == 'bound'
        self.api.post('subnet', network_id=net['id'], cidr=cidr,
                      ip_version=4)
        dhcp = wait_for(lambda: self.api.dhcp_ports(net['id']), 15,
                        'the DHCP port of the broken network')
        return net, 'tap' + dhcp[0]['id'][:11]

    def close(self) -> None:
        for holder in self.holders:
            holder.kill()
            holder.wait()
        self.server.stop()
        cleanup(self.server.state, self.namespaces)
        self.server.remove_state()


@pytest.fixture
def host() -> Iterator[Host]:
    env = Host()
    try:
        env.server.start()
        env.api = Api(env.server.url)
        yield env
    finally:
        env.close()


def on_host(network_id: str, tap: str) -> list[str]:
    """What of the network is left: its namespace, bridge, tap."""
    links = set(ip_lib.list_devices())
    return [name for name, present in (
        (NS_PREFIX + network_id, ip_lib.namespace_exists(
            NS_PREFIX + network_id)),
        (BRIDGE_PREFIX + network_id[:11],
         BRIDGE_PREFIX + network_id[:11] in links),
        (tap, tap in links)) if present]


def attempt_times(log: str, network_id: str) -> list[float]:
    """When the agent logged a failed attempt for the network."""
    times = []
    for line in log.splitlines():
        if f'network {network_id} failed' in line:
            stamp = datetime.datetime.strptime(line[:23],
                                               '%Y-%m-%d %H:%M:%S,%f')
            times.append(stamp.timestamp())
    return times


def failed_on_agent(api: Api, network_id: str) -> str | None:
    """The reason the agent reports for the network, if any."""
    agents = api.agents()
    assert len(agents) == 1
    return agents[0]['configurations'].get('failed_networks', {}).get(
        network_id)


def test_failing_network_backs_off_alone_and_is_removed_when_deleted(host):
    api = host.api
    broken, tap = host.broken_network('10.81.0.0/24')
    good, _ = api.network('10.82.0.0/24')
    port = api.ready_port(good['id'])           # served meanwhile
    assert port['status'] == 'DOWN'             # (as created)

    times = wait_for(lambda: (t := attempt_times(host.server.log(),
                                                 broken['id']))
                     and len(t) >= 5 and t, 40, '5 failed attempts')
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Retries 1, 2, 4, 8 s apart (the first attempts may come from the
    # server's events: subnet created, network scheduled).
    assert gaps[-1] > 1.5 * gaps[-2] > 4.5, gaps
    log = host.server.log()
    assert log.count('Traceback') == 1, log
    assert re.search(rf'network {broken["id"]} failed again \(attempt 5\)'
                     r'.*failed to bind DHCP server socket: Address '
                     r'already in use', log), log
    reason = wait_for(lambda: failed_on_agent(api, broken['id']), 10,
                      'the failure in the agent state')
    assert 'Address already in use' in reason
    assert on_host(broken['id'], tap)           # made before dnsmasq failed

    api.delete('network', broken['id'])
    wait_for(lambda: not on_host(broken['id'], tap), 15,
             'namespace, bridge and tap of the deleted network gone')
    wait_for(lambda: failed_on_agent(api, broken['id']) is None, 10,
             'the failure gone from the agent state')
    assert api.get('port', port['id'])['status'] == 'ACTIVE'


def test_agent_stopped_after_a_failure_leaves_nothing_behind(host):
    broken, tap = host.broken_network('10.83.0.0/24')
    wait_for(lambda: len(attempt_times(host.server.log(), broken['id'])) >= 2,
             20, 'two failed attempts')
    assert on_host(broken['id'], tap)
    host.server.stop()
    assert host.server.proc.returncode == 0, host.server.log()
    assert on_host(broken['id'], tap) == [], host.server.log()
