"""Server and DHCP agents as separate processes, over a real RabbitMQ.

One private RabbitMQ node (tests/support/rabbitmq.py) and one real
`kaon server` process serve the whole module; every test starts its own
`kaon dhcp-agent` processes (host kt-agent-<n>, their own state path and
config file, report_interval 1) and ends by stopping them and deleting
their agent rows, so the tests do not depend on each other.  The server
counts an agent dead AGENT_DOWN_TIME seconds after its last heartbeat.

No networks are created here: the agents sync an empty list and touch
nothing on the host.  What is under test is the RPC path: report_state
over `q-reports-plugin`, the agents API, and that both ends ride out a
restart of the server and of the broker.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Iterator

import pytest
import requests

from tests.support.agent import REPORT_INTERVAL, AgentProcess, Agents, wait_for
from tests.support.api import Api, parse_time, utc_now
from tests.support.rabbitmq import RabbitMQ
from tests.support.server import KaonServer

pytestmark = pytest.mark.slow

AGENT_DOWN_TIME = 6
REGISTER_TIMEOUT = 15       # first heartbeat of a new agent process
RECONNECT_TIMEOUT = 30      # heartbeats again after a broker restart


# -- fixtures ------------------------------------------------------------

@pytest.fixture(scope='module')
def server(rabbit: RabbitMQ) -> Iterator[KaonServer]:
    srv = KaonServer(options={'transport_url': rabbit.url,
                              'agent_down_time': AGENT_DOWN_TIME,
                              'host': 'kt-server'})
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(srv.state, ignore_errors=True)


@pytest.fixture
def api(server: KaonServer) -> Api:
    return Api(server.url)


@pytest.fixture
def agents(rabbit: RabbitMQ, server: KaonServer, api: Api
           ) -> Iterator[Agents]:
    started = Agents(rabbit.url)
    try:
        yield started
    finally:
        started.close()
        # Forget the agents this test made (they no longer report).
        hosts = {a.host for a in started.started}
        try:
            if server.proc and server.proc.poll() is None:
                for agent in api.agents():
                    if agent['host'] in hosts:
                        requests.delete(
                            f'{api.url}/v2.0/agents/{agent["id"]}',
                            timeout=10)
        except requests.RequestException:
            pass


def check_registered(agent: dict[str, Any], host: str) -> None:
    assert agent['agent_type'] == 'DHCP agent', agent
    assert agent['binary'] == 'kaon-dhcp-agent', agent
    assert agent['topic'] == 'dhcp_agent', agent
    assert agent['host'] == host, agent
    assert agent['alive'] is True, agent
    assert agent['admin_state_up'] is True, agent
    conf = agent['configurations']
    for key in ('networks', 'subnets', 'ports'):
        assert conf.get(key) == 0, (key, agent)
    for key in ('created_at', 'started_at', 'heartbeat_timestamp'):
        parse_time(agent[key])


def registered(api: Api, agents: Agents, agent: AgentProcess
               ) -> dict[str, Any]:
    try:
        return wait_for(lambda: api.alive(agent.host), REGISTER_TIMEOUT,
                        f'{agent.host} registered and alive')
    except AssertionError as err:
        raise AssertionError(f'{err}\n{agents.logs()}') from None


# -- tests ---------------------------------------------------------------

def test_agents_register_and_keep_reporting(api: Api, agents: Agents
                                            ) -> None:
    first = agents.start()
    t0 = time.monotonic()
    row = registered(api, agents, first)
    took = time.monotonic() - t0
    check_registered(row, first.host)
    print(f'{first.host} registered {took:.1f}s after its start')
    assert took < 10, f'{first.host} took {took:.1f}s to register'

    second = agents.start()
    check_registered(registered(api, agents, second), second.host)
    both = {a['host']: a for a in api.agents()}
    assert {first.host, second.host} <= set(both), both
    assert both[first.host]['id'] != both[second.host]['id']

    # Heartbeats go on: the timestamp moves, the row stays the same one.
    before = api.agent(first.host)
    assert before is not None
    later = wait_for(
        lambda: api.heartbeat_after(
            first.host, parse_time(before['heartbeat_timestamp'])),
        REPORT_INTERVAL * 5, f'{first.host} heartbeats advance')
    assert later['id'] == before['id']
    assert later['started_at'] == before['started_at']

    # Single-agent GET shows the same.
    resp = requests.get(f'{api.url}/v2.0/agents/{later["id"]}', timeout=10)
    assert resp.status_code == 200, resp.text
    check_registered(resp.json()['agent'], first.host)


def test_stopped_agents_go_dead_others_stay_alive(api: Api, agents: Agents
                                                  ) -> None:
    termed, killed, survivor = (agents.start() for _ in range(3))
    for agent in (termed, killed, survivor):
        registered(api, agents, agent)

    # SIGTERM: the agent stops its RPC server and exits cleanly.
    t0 = time.monotonic()
    assert termed.signal(signal.SIGTERM) == 0, termed.log()
    print(f'{termed.host} exited {time.monotonic() - t0:.1f}s after '
          f'SIGTERM')
    assert killed.signal(signal.SIGKILL) == -signal.SIGKILL
    stopped_at = time.monotonic()

    # Not dead at once: alive until agent_down_time after the last beat.
    assert api.alive(termed.host) and api.alive(killed.host)
    timeout = AGENT_DOWN_TIME + 10
    wait_for(lambda: api.dead(termed.host), timeout,
             f'{termed.host} (SIGTERM) shown dead')
    wait_for(lambda: api.dead(killed.host), timeout,
             f'{killed.host} (SIGKILL) shown dead')
    took = time.monotonic() - stopped_at
    print(f'stopped agents shown dead after {took:.1f}s')
    assert took >= AGENT_DOWN_TIME - REPORT_INTERVAL - 1.5, (
        f'dead after {took:.1f}s, before agent_down_time '
        f'({AGENT_DOWN_TIME}s)')
    assert api.alive(survivor.host), (api.agents(), agents.logs())
    assert survivor.running()

    # Dead agents keep their rows (admin deletes them).
    assert api.agent(termed.host) is not None
    assert api.agent(killed.host) is not None


def test_agent_rides_out_server_restart(api: Api, agents: Agents,
                                        server: KaonServer) -> None:
    agent = agents.start()
    before = registered(api, agents, agent)

    t0 = time.monotonic()
    server.stop()
    stop_took = time.monotonic() - t0
    assert server.proc is not None and server.proc.returncode == 0, (
        f'kaon server exit code {server.proc.returncode}')
    time.sleep(2)                       # a couple of reports get no answer
    restarted_at = utc_now()
    server.start()                      # same config, state path and DB
    assert stop_took < 9, f'kaon server took {stop_took:.1f}s to stop'
    print(f'kaon server stopped in {stop_took:.1f}s')

    try:
        row = wait_for(lambda: api.heartbeat_after(agent.host, restarted_at),
                       AGENT_DOWN_TIME + 5,
                       f'{agent.host} reports to the restarted server')
    except AssertionError as err:
        raise AssertionError(f'{err}\n{agents.logs()}\n--- server\n'
                             f'{server.log()}') from None
    assert agent.running()
    assert row['id'] == before['id']
    assert row['started_at'] == before['started_at']   # not restarted
    # ...and it stays alive from here on.
    last = parse_time(row['heartbeat_timestamp'])
    wait_for(lambda: api.heartbeat_after(agent.host, last),
             REPORT_INTERVAL * 5, f'{agent.host} heartbeats go on')
    assert api.alive(agent.host)


def test_agent_and_server_ride_out_broker_restart(
        api: Api, agents: Agents, rabbit: RabbitMQ,
        server: KaonServer) -> None:
    agent = agents.start()
    before = registered(api, agents, agent)

    rabbit.restart()
    restarted_at = utc_now()
    t0 = time.monotonic()
    try:
        row = wait_for(lambda: api.heartbeat_after(agent.host, restarted_at),
                       RECONNECT_TIMEOUT,
                       f'{agent.host} alive again after the broker restart',
                       interval=0.5)
    except AssertionError as err:
        raise AssertionError(f'{err}\n{agents.logs()}\n--- server\n'
                             f'{server.log()}') from None
    reconnect = time.monotonic() - t0
    print(f'broker restart took {rabbit.start_seconds:.1f}s to start; '
          f'heartbeats back {reconnect:.1f}s after')
    assert agent.running()
    assert row['id'] == before['id']
    assert row['started_at'] == before['started_at']

    # A brand-new agent registers through the restarted broker too.
    newcomer = agents.start()
    check_registered(registered(api, agents, newcomer), newcomer.host)
    assert api.alive(agent.host)


def test_update_and_delete_agent(api: Api, agents: Agents) -> None:
    agent = agents.start()
    row = registered(api, agents, agent)
    url = f'{api.url}/v2.0/agents/{row["id"]}'

    resp = requests.put(url, json={'agent': {'admin_state_up': False,
                                             'description': 'x'}},
                        timeout=10)
    assert resp.status_code == 200, resp.text
    updated = resp.json()['agent']
    assert updated['admin_state_up'] is False, updated
    assert updated['description'] == 'x', updated
    assert updated['id'] == row['id']

    # Heartbeats neither revert the update nor stop.
    last = parse_time(updated['heartbeat_timestamp'])
    shown = wait_for(lambda: api.heartbeat_after(agent.host, last),
                     REPORT_INTERVAL * 5, f'{agent.host} heartbeats go on')
    assert shown['admin_state_up'] is False, shown
    assert shown['description'] == 'x', shown

    # Only those two can change.
    resp = requests.put(url, json={'agent': {'host': 'elsewhere'}},
                        timeout=10)
    assert resp.status_code == 400, resp.text

    resp = requests.delete(url, timeout=10)
    assert resp.status_code == 204, resp.text
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 404, resp.text
    assert resp.json()['NeutronError']['type'] == 'AgentNotFound'

    # The next report registers it anew: new row, defaults again.
    again = wait_for(lambda: api.alive(agent.host), REGISTER_TIMEOUT,
                     f'{agent.host} re-registered')
    assert again['id'] != row['id']
    assert again['admin_state_up'] is True, again
    assert again['description'] == '', again
    check_registered(again, agent.host)


PROBE = '''
import sys, time
from kaon.conf import CONF
from kaon.rpc.agent_api import DhcpPluginApi
from kaon.rpc import common
common.register_messaging_opts(CONF)
CONF([], project='kaon', default_config_files=[])
CONF.set_override('transport_url', sys.argv[1])
t0 = time.monotonic()
try:
    DhcpPluginApi('kt-probe', timeout=30).get_active_networks_info()
    outcome = 'answered'
except Exception as err:
    outcome = type(err).__name__
print(outcome, round(time.monotonic() - t0, 1))
'''


def test_agent_call_with_no_server_queue_fails_at_once(
        rabbit: RabbitMQ, server: KaonServer) -> None:
    """After a broker restart, until the server has declared its queues
    again, an agent's call has nowhere to go: it must fail at once (so the
    agent's backoff retries in seconds), not wait out its timeout."""
    server.stop()
    try:
        rabbit.restart()                # the server's queues are gone
        probe = subprocess.run([sys.executable, '-c', PROBE, rabbit.url],
                               capture_output=True, text=True, timeout=60)
        outcome, took = probe.stdout.split()
        assert outcome == 'MessageUndeliverable', probe.stderr[-2000:]
        assert float(took) < 10, f'the call took {took}s to fail'
    finally:
        server.start()
