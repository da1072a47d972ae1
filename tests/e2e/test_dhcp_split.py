"""The DHCP path split over processes: server, agents, RabbitMQ, dnsmasq, VMs.

One private RabbitMQ node (tests/support/rabbitmq.py) serves the module;
every test runs its own `kaon server` (fresh database, its own options)
and `kaon dhcp-agent` processes (tests/support/agent.py: host
kt-agent-<n>, own state path and namespace prefix kt<n>-qdhcp-, the shared
bridge prefix ktbr, so all agents' DHCP ports join a network's one bridge
as network nodes join one L2 segment).  Everything goes through the REST
API; VMs (tests/support/vm.py) ask busybox udhcpc for their address, and
udhcpc's `serverid` tells which agent's dnsmasq answered.

Covered, as an operator would check them:
- an agent killed and restarted adopts its running dnsmasq (same pid) and
  VMs keep their IP; a killed dnsmasq is respawned with its config;
- two agents serve one network (HA); one node dies, VMs renew from the
  other, and the dead agent is shown dead after agent_down_time;
- POST /v2.0/agents/<id>/dhcp-networks and DELETE .../<net> take effect
  on the agents at once;
- an agent or a broker that is down does not slow port creation, and
  once they are back the ports created meanwhile are served.

Teardown kills every agent, server and dnsmasq a test made, removes its
namespaces, bridges and VMs (also on failure), and checks nothing is left.
"""
from __future__ import annotations

import os
import signal
import statistics
import time
from typing import Iterator

import pytest

from kaon.agent.linux import process
from kaon.constants import dhcp_device_id
from tests.e2e.split import (
    AGENT_DOWN_TIME,
    CHECK_INTERVAL,
    REGISTER_TIMEOUT,
    Split,
    port_ip,
)
from tests.support.agent import AgentProcess, wait_for
from tests.support.api import Api, timed_post, utc_now
from tests.support.rabbitmq import RabbitMQ

pytestmark = pytest.mark.slow


# -- helpers -------------------------------------------------------------

def namespaces() -> set[str]:
    return set(os.listdir('/run/netns')) if os.path.isdir('/run/netns') \
        else set()


def dnsmasq_argv(pid: int | None, network_id: str) -> list[str]:
    """argv of a live dnsmasq of that network ([] if not one)."""
    if pid is None:
        return []
    argv = process.read_cmdline(pid)
    if argv and os.path.basename(argv[0]) == 'dnsmasq' and \
            any(network_id in a for a in argv):
        return argv
    return []


def serving_pid(agent: AgentProcess, network_id: str) -> int | None:
    """The pid of the agent's running dnsmasq for the network, if any."""
    pid = agent.dnsmasq_pid(network_id)
    return pid if dnsmasq_argv(pid, network_id) else None


def kill_pid(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not process.pid_alive(pid), 5, f'pid {pid} gone',
             interval=0.02)


@pytest.fixture
def split(rabbit: RabbitMQ) -> Iterator[Split]:
    env = Split(rabbit)
    try:
        yield env
    finally:
        env.close()


# -- tests ---------------------------------------------------------------

def test_restarted_agent_adopts_dnsmasq_and_dead_dnsmasq_is_respawned(
        split: Split) -> None:
    api = split.start_server()
    agent = split.start_agent()
    net, _ = split.network('10.81.0.0/24')
    net_id = net['id']
    port = api.ready_port(net_id)
    ip = port_ip(port)
    vm = split.vm(port)
    lease = vm.dhcp()
    assert lease is not None and lease.ip == ip, (lease, split.logs())
    pid = split.wait(lambda: serving_pid(agent, net_id), 5, 'dnsmasq runs')
    argv = dnsmasq_argv(pid, net_id)

    # The agent dies; its dnsmasq goes on serving without it.
    assert agent.signal(signal.SIGKILL) == -signal.SIGKILL
    assert dnsmasq_argv(pid, net_id), 'dnsmasq died with its agent'
    log_offset = os.path.getsize(agent.log_path)

    # Same config, host and state path: it resyncs and adopts the dnsmasq.
    t0 = time.monotonic()
    agent.start()

    def second_run() -> str:
        with open(agent.log_path, errors='replace') as f:
            f.seek(log_offset)
            return f.read()
    split.wait(lambda: 'Adopted dnsmasq' in second_run() or
               'Started dnsmasq' in second_run(), REGISTER_TIMEOUT,
               'the restarted agent configured the network')
    print(f'restarted agent resynced {time.monotonic() - t0:.1f}s after '
          f'its start')
    assert f'Adopted dnsmasq pid {pid} for {net_id}' in second_run(), (
        second_run())
    assert 'Started dnsmasq' not in second_run(), second_run()
    assert agent.dnsmasq_pid(net_id) == pid
    assert dnsmasq_argv(pid, net_id) == argv
    shown = split.wait(lambda: (a := api.alive(agent.host)) and
                       a['configurations']['networks'] == 1 and a, 10,
                       'the restarted agent reports its network')
    assert shown['configurations']['ports'] >= 2, shown     # VM + DHCP

    # The VM renews: same IP, no NAK.
    renewed = vm.dhcp(requested_ip=ip)
    assert renewed is not None, f'renewal NAKed or unanswered\n{split.logs()}'
    assert renewed.ip == ip

    # dnsmasq dies: the process monitor respawns it, same command line.
    kill_pid(pid)
    t0 = time.monotonic()
    new_pid = split.wait(
        lambda: (p := serving_pid(agent, net_id)) and p != pid and p,
        CHECK_INTERVAL + 10, 'dnsmasq respawned', interval=0.05)
    took = time.monotonic() - t0
    print(f'dnsmasq respawned {took:.2f}s after SIGKILL (pid {pid} -> '
          f'{new_pid}; check_child_processes_interval {CHECK_INTERVAL}s)')
    # One check period, plus slack for dnsmasq's start on a busy machine.
    assert took <= CHECK_INTERVAL + 2, f'respawn took {took:.1f}s'
    assert dnsmasq_argv(new_pid, net_id) == argv
    again = vm.dhcp(requested_ip=ip)
    assert again is not None and again.ip == ip, (again, split.logs())

    # A port created after the respawn is served too.
    late = api.ready_port(net_id)
    late_lease = split.vm(late).dhcp()
    assert late_lease is not None, split.logs()
    assert late_lease.ip == port_ip(late)
    assert serving_pid(agent, net_id) == new_pid


def test_two_agents_serve_a_network_and_vm_survives_one_dying(
        split: Split) -> None:
    api = split.start_server(dhcp_agents_per_network=2)
    first, second = split.start_agent(), split.start_agent()
    pair = (first, second)
    net, _ = split.network('10.82.0.0/24')
    net_id = net['id']

    hosting = split.wait(
        lambda: len(hosts := sorted(a['host'] for a in
                                    api.network_agents(net_id))) == 2
        and hosts, 10, 'the network is scheduled to two agents')
    assert hosting == sorted(a.host for a in pair), hosting
    pids = {a.host: split.wait(lambda a=a: serving_pid(a, net_id), 15,
                               f'dnsmasq of {a.host} runs') for a in pair}
    assert len(set(pids.values())) == 2
    for agent in pair:
        assert agent.namespace(net_id) in namespaces()
    dhcp_ports = split.wait(
        lambda: (ports := api.dhcp_ports(net_id)) and len(ports) == 2 and
        ports, 10, 'two network:dhcp ports')
    server_ip = {p['binding:host_id']: port_ip(p) for p in dhcp_ports}
    assert set(server_ip) == {a.host for a in pair}, dhcp_ports

    port = api.ready_port(net_id)
    ip = port_ip(port)
    # Both dnsmasqs know the port (ACTIVE needs only one of them).
    split.wait(lambda: all(os.path.exists(os.path.join(
        a.dhcp_dir(net_id), 'host', port['id'])) for a in pair), 10,
        'both agents wrote the port')
    vm = split.vm(port)
    lease = vm.dhcp()
    assert lease is not None and lease.ip == ip, (lease, split.logs())
    served_by = lease.env.get('serverid')
    assert served_by in server_ip.values(), lease.env
    # The node that answered dies: its agent and its dnsmasq.
    dead = next(a for a in pair if server_ip[a.host] == served_by)
    alive = next(a for a in pair if a is not dead)
    assert dead.signal(signal.SIGKILL) == -signal.SIGKILL
    kill_pid(pids[dead.host])
    died_at = time.monotonic()

    renewed = vm.dhcp(requested_ip=ip)
    assert renewed is not None, f'no renewal from {alive.host}\n' \
        f'{split.logs()}'
    assert renewed.ip == ip
    assert renewed.env.get('serverid') == server_ip[alive.host], renewed.env

    row = split.wait(lambda: api.dead(dead.host), AGENT_DOWN_TIME + 10,
                     f'{dead.host} shown dead', interval=0.5)
    took = time.monotonic() - died_at
    print(f'{dead.host} shown alive: false {took:.1f}s after it died '
          f'(agent_down_time {AGENT_DOWN_TIME}s)')
    assert row['alive'] is False
    assert took >= AGENT_DOWN_TIME - 2, took
    assert api.alive(alive.host), api.agents()
    assert serving_pid(alive, net_id) == pids[alive.host]


def test_manual_scheduling_takes_effect_at_once(split: Split) -> None:
    api = split.start_server(dhcp_agents_per_network=1)
    agents = {a.host: a for a in (split.start_agent(), split.start_agent())}
    net, _ = split.network('10.83.0.0/24')
    net_id = net['id']
    hosting = split.wait(lambda: api.network_agents(net_id), 10,
                         'the network is scheduled')
    assert len(hosting) == 1, hosting
    first = agents[hosting[0]['host']]
    second = next(a for a in agents.values() if a is not first)
    rows = {a.host: api.agent(a.host) for a in agents.values()}
    first_pid = split.wait(lambda: serving_pid(first, net_id), 15,
                           f'dnsmasq of {first.host} runs')
    port = api.ready_port(net_id)
    ip = port_ip(port)
    vm = split.vm(port)
    lease = vm.dhcp()
    assert lease is not None and lease.ip == ip, (lease, split.logs())
    assert second.namespace(net_id) not in namespaces()
    assert serving_pid(second, net_id) is None

    # Bind the network to the second agent by hand: it serves at once.
    t0 = time.monotonic()
    api.add_network_to_agent(rows[second.host]['id'], net_id)
    second_pid = split.wait(
        lambda: second.namespace(net_id) in namespaces() and
        serving_pid(second, net_id), 10, f'{second.host} serves',
        interval=0.05)
    took = time.monotonic() - t0
    print(f'{second.host} serving {took:.2f}s after POST dhcp-networks')
    assert took < 5, took
    assert sorted(a['host'] for a in api.network_agents(net_id)) == \
        sorted(agents)
    assert [n['id'] for n in api.agent_networks(
        rows[second.host]['id'])] == [net_id]
    dhcp_ports = split.wait(
        lambda: (ports := api.dhcp_ports(net_id)) and len(ports) == 2 and
        ports, 10, 'two network:dhcp ports')
    server_ip = {p['binding:host_id']: port_ip(p) for p in dhcp_ports}

    # Unbind the first: its namespace and dnsmasq go at once.
    t0 = time.monotonic()
    api.remove_network_from_agent(rows[first.host]['id'], net_id)
    split.wait(lambda: first.namespace(net_id) not in namespaces() and
               not process.pid_alive(first_pid), 10,
               f'{first.host} stopped serving', interval=0.05)
    took = time.monotonic() - t0
    print(f'{first.host} stopped serving {took:.2f}s after DELETE '
          f'dhcp-networks')
    assert took < 5, took
    assert [a['host'] for a in api.network_agents(net_id)] == [second.host]
    assert api.agent_networks(rows[first.host]['id']) == []
    # The first agent's DHCP port stays, reserved for the next agent to
    # serve the network (Neutron's remove_network_from_dhcp_agent).
    ports = {p['device_id']: p for p in api.dhcp_ports(net_id)}
    assert sorted(ports) == sorted([
        'reserved_dhcp_port', dhcp_device_id(second.host, net_id)]), ports
    assert port_ip(ports['reserved_dhcp_port']) == server_ip[first.host]

    # The VM now renews from the second agent.
    renewed = vm.dhcp(requested_ip=ip)
    assert renewed is not None and renewed.ip == ip, (renewed,
                                                      split.logs())
    assert renewed.env.get('serverid') == server_ip[second.host]
    assert serving_pid(second, net_id) == second_pid


def _create_ports(api: Api, network_id: str, count: int, label: str
                  ) -> tuple[list[dict], list[float]]:
    """POST `count` ports one after another; every one must be 201."""
    ports, seconds, failures = [], [], []
    for i in range(count):
        resp, took = timed_post(api, 'port', network_id=network_id,
                                device_owner='compute:nova',
                                name=f'kt-{label}-{i}')
        seconds.append(took)
        if resp.status_code == 201:
            ports.append(resp.json()['port'])
        else:
            failures.append(f'{resp.status_code} {resp.text[:200]}')
    print(f'{label:>12}: {count} POST /v2.0/ports, median '
          f'{statistics.median(seconds) * 1000:.1f} ms, max '
          f'{max(seconds) * 1000:.1f} ms')
    assert not failures, f'{label}: {failures}'
    return ports, seconds


def test_port_create_stays_fast_with_agent_or_broker_down(
        split: Split, rabbit: RabbitMQ) -> None:
    api = split.start_server()
    agent = split.start_agent()
    net, _ = split.network('10.84.0.0/24')
    net_id = net['id']
    api.ready_port(net_id)              # the agent hosts the network
    split.wait(lambda: serving_pid(agent, net_id), 5, 'dnsmasq runs')

    _, up = _create_ports(api, net_id, 20, 'agent up')

    agent.pause()                       # SIGSTOP: a hung agent
    try:
        stalled, paused = _create_ports(api, net_id, 20, 'agent stopped')
    finally:
        agent.resume()
    # Once it runs again it catches up on what it missed.
    split.wait(lambda: all(api.get('port', p['id'])['status'] == 'ACTIVE'
                           for p in stalled), 20,
               'ports created while the agent was stopped become ACTIVE',
               interval=0.5)

    rabbit.stop()
    try:
        queued, down = _create_ports(api, net_id, 20, 'broker down')
    finally:
        rabbit.start()
    restarted_at = utc_now()
    assert max(paused) < 1, f'agent stopped: max {max(paused):.2f}s'
    assert max(down) < 1, f'broker down: max {max(down):.2f}s'
    base = statistics.median(up)
    print(f'median vs agent up: agent stopped x'
          f'{statistics.median(paused) / base:.1f}, broker down x'
          f'{statistics.median(down) / base:.1f}')

    # Both ends come back over the restarted broker, and the ports created
    # while it was down are served (the notifier held their casts).
    split.wait(lambda: api.heartbeat_after(agent.host, restarted_at), 30,
               f'{agent.host} reports again after the broker restart',
               interval=0.5)
    split.wait(lambda: all(api.get('port', p['id'])['status'] == 'ACTIVE'
                           for p in queued), 30,
               'ports created while the broker was down become ACTIVE',
               interval=0.5)
    lease = split.vm(queued[-1]).dhcp()
    assert lease is not None and lease.ip == port_ip(queued[-1]), (
        lease, split.logs())
