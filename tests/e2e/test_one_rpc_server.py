"""One RPC server per kaon server, however many API workers it forks.

A real `kaon server` with api_workers = 2 over a private RabbitMQ node.
The broker says who consumes the server's topics (q-plugin for the agents'
calls, q-reports-plugin for their state reports): exactly one consumer
each, in one process of the kaon server that is not an API worker (it
does not hold the API's listening socket) -- each worker only casts.  A
worker killed and replaced leaves that consumer as it was, and the RPC
server keeps answering: an agent started afterwards registers.

And the casts still leave from where the events are: ports created
through either worker reach a real DHCP agent (they turn ACTIVE once it
has them configured) and a VM gets its port's address from the agent's
dnsmasq.
"""
from __future__ import annotations

import os
import signal
import subprocess
from typing import Any, Iterator

import psutil
import pytest
import requests

from tests.e2e.split import Split, port_ip
from tests.support.agent import Agents, wait_for
from tests.support.api import Api
from tests.support.rabbitmq import RabbitMQ
from tests.support.server import KaonServer

pytestmark = pytest.mark.slow

TOPICS = ('q-plugin', 'q-reports-plugin')
WORKERS = 2


@pytest.fixture
def server(rabbit: RabbitMQ) -> Iterator[KaonServer]:
    with KaonServer(workers=WORKERS,
                    options={'transport_url': rabbit.url,
                             'host': 'kt-one-rpc'}) as srv:
        yield srv


def _rows(rabbit: RabbitMQ, what: str, *fields: str) -> list[list[str]]:
    out = rabbit.ctl(what, '--quiet', '--no-table-headers', *fields)
    assert out.returncode == 0, out.stderr
    return [line.split('\t') for line in out.stdout.splitlines()
            if line.strip()]


def consumer_pids(rabbit: RabbitMQ, queue: str) -> list[int]:
    """The local process of every consumer of `queue`, as the broker sees
    it: consumer -> channel -> connection -> client port -> our socket."""
    channels = [ch for q, ch in _rows(rabbit, 'list_consumers',
                                      'queue_name', 'channel_pid')
                if q == queue]
    connection_of = dict(_rows(rabbit, 'list_channels', 'pid', 'connection'))
    port_of = {pid: int(port) for pid, port in
               _rows(rabbit, 'list_connections', 'pid', 'peer_port')}
    ports = [port_of[connection_of[ch]] for ch in channels]
    return [_owner(port, rabbit.port) for port in ports]


def _owner(local_port: int, broker_port: Any) -> int:
    for conn in psutil.net_connections(kind='tcp'):
        if conn.laddr and conn.laddr.port == local_port and conn.raddr \
                and conn.raddr.port == broker_port and conn.pid:
            return int(conn.pid)
    raise AssertionError(f'no local process has port {local_port}')


def workers(server: KaonServer) -> set[int]:
    """The server's processes that serve the API (hold its socket)."""
    assert server.proc is not None
    return {p.pid for p in psutil.Process(server.proc.pid).children()
            if _listens(p, server.port)}


def _listens(proc: psutil.Process, port: int) -> bool:
    try:
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in proc.net_connections(kind='tcp'))
    except psutil.NoSuchProcess:        # a worker on its way out
        return False


def rpc_server(rabbit: RabbitMQ, server: KaonServer) -> int:
    """The one process consuming the server's topics, checked to be the
    server's own and none of its API workers."""
    assert server.proc is not None
    found = {topic: wait_for(lambda t=topic: consumer_pids(rabbit, t), 30,
                             f'a consumer on {topic}') for topic in TOPICS}
    pids = {pid for each in found.values() for pid in each}
    assert all(len(each) == 1 for each in found.values()), found
    assert len(pids) == 1, found
    pid = pids.pop()
    family = {p.pid for p in psutil.Process(server.proc.pid).children()}
    assert pid in family | {server.proc.pid}, (pid, family)
    assert pid not in workers(server), (pid, workers(server))
    return pid


def new_connection_port(url: str, network_id: str) -> dict[str, Any]:
    """A port created on a connection of its own (so either worker may
    serve it)."""
    resp = requests.post(f'{url}/v2.0/ports', timeout=30,
                         json={'port': {'network_id': network_id,
                                        'device_owner': 'compute:nova'}},
                         headers={'Connection': 'close'})
    assert resp.status_code == 201, resp.text
    port: dict[str, Any] = resp.json()['port']
    return port


def some_requests(url: str) -> None:
    """Enough requests, each on a new connection, that both workers serve
    some (they accept from one socket); each a write that raises a plugin
    event in the worker that serves it."""
    for n in range(20):
        resp = requests.post(f'{url}/v2.0/networks', timeout=30,
                             json={'network': {'name': f'one-rpc-{n}'}},
                             headers={'Connection': 'close'})
        assert resp.status_code == 201, resp.text


def test_api_workers_share_one_rpc_server(rabbit: RabbitMQ,
                                          server: KaonServer) -> None:
    assert server.proc is not None
    api = Api(server.url)
    wait_for(lambda: len(workers(server)) == WORKERS, 60,
             f'{WORKERS} API workers')
    some_requests(server.url)
    rpc = rpc_server(rabbit, server)

    # A worker forked after the RPC server started, in place of one killed.
    victim = min(workers(server))
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(workers(server) - {victim}) == WORKERS, 60,
             'the killed worker replaced')
    some_requests(server.url)
    assert len(api.list('network')) >= 40
    assert rpc_server(rabbit, server) == rpc

    agents = Agents(rabbit.url)
    try:
        agent = agents.start()
        wait_for(lambda: api.alive(agent.host), 30,
                 f'{agent.host} registered through the RPC server')
    finally:
        agents.close()


def test_a_dead_rpc_server_stops_the_kaon_server(rabbit: RabbitMQ,
                                                 server: KaonServer) -> None:
    """Agents cannot reach a server without its RPC server: it must not
    go on looking healthy.  It stops, non-zero, saying why (a supervisor
    such as systemd then restarts it whole)."""
    assert server.proc is not None
    wait_for(lambda: len(workers(server)) == WORKERS, 60,
             f'{WORKERS} API workers')
    os.kill(rpc_server(rabbit, server), signal.SIGKILL)
    try:
        status = server.proc.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError('kaon server runs on without its RPC server'
                             ) from None
    assert status != 0
    assert 'RPC server process exited' in server.log(), server.log()


def test_ports_made_through_any_worker_reach_the_agent(
        rabbit: RabbitMQ) -> None:
    split = Split(rabbit)
    try:
        api = split.start_server(api_workers=WORKERS)
        assert split.server is not None
        wait_for(lambda: len(workers(split.server)) == WORKERS, 60,
                 f'{WORKERS} API workers')
        split.start_agent()
        net, _ = split.network('10.86.0.0/24')
        ports = [new_connection_port(split.server.url, net['id'])
                 for _ in range(6)]
        for port in ports:
            split.wait(lambda p=port: api.get('port', p['id'])['status']
                       == 'ACTIVE', 15, f"port {port['id']} ACTIVE")
        lease = split.vm(ports[-1]).dhcp()
        assert lease is not None and lease.ip == port_ip(ports[-1]), (
            lease, split.logs())
    finally:
        split.close()
