"""Failures stay small and loud: backoff schedules, the agent's failed
networks and periodic checks, the process monitor's respawn backoff, and
the inotify room a host needs (logic only, with a clock passed in; the
real thing runs in tests/e2e/test_agent_failures.py)."""
from __future__ import annotations

import logging
import os
import sys
import uuid

import pytest

from kaon.agent.backoff import Backoff
from kaon.agent.linux import process
from kaon.agent.linux.dhcp import DhcpServeError
from kaon.agent.linux.inotify import HostLimitError, InotifyLimits, Usage
from tests.unit.test_agent_logic import RecordingDriver, make_agent, network


def test_backoff_doubles_to_its_cap_hands_each_retry_out_once_and_resets():
    backoff = Backoff(initial=1, cap=60)
    delays = [backoff.failed('n1', 'boom', now=0).delay for _ in range(9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.due(now=59) == []
    assert backoff.due(now=60) == ['n1']
    assert backoff.due(now=1000) == []           # under way: not twice
    assert backoff.succeeded('n1').attempts == 9
    assert backoff.failed('n1', 'again', now=0).delay == 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def failing_agent(broken: set[str]):
    class Driver(RecordingDriver):
        def enable(self):
            if self.network['id'] in broken:
                raise OSError(f'dnsmasq for {self.network["id"]} exited '
                              f'with 2: failed to bind DHCP server socket')
            super().enable()

        def reload_allocations(self):
            self.enable()
    agent, server, ready = make_agent()
    agent.backend.driver_class = Driver
    agent.clock = Clock()
    return agent, server, ready


def test_a_failing_network_backs_off_alone_with_one_traceback(caplog):
    agent, server, ready = failing_agent({'bad'})
    server.networks['bad'] = network('bad')
    server.networks['good'] = network('good', ports=[{'id': 'p1'}])
    caplog.set_level(logging.INFO, 'kaon.agent.dhcp.agent')
    agent.sync_state()
    assert agent.cache.ids() == ['good'] and ready == ['p1']
    attempts = []
    for tick in range(40):                       # 40 s, one look a second
        agent.clock.now = float(tick)
        before = len(caplog.records)
        agent.retry_due()
        assert agent.queue.wait_idle(5)
        if len(caplog.records) > before:
            attempts.append(tick)
    # Attempt 1 at 0 s (the sync), then 1, 3, 7, 15, 31 s: 1, 2, 4, 8, 16.
    assert attempts == [1, 3, 7, 15, 31]
    lines = [r for r in caplog.records if 'bad' in r.getMessage()]
    assert len(lines) == 6
    assert [bool(r.exc_info) for r in lines] == [True] + [False] * 5
    assert 'failed to bind DHCP server socket' in lines[-1].getMessage()
    assert 'attempt 6' in lines[-1].getMessage()
    health = agent.health()
    assert health['networks_failed'] == 1
    assert 'failed to bind' in health['failed_networks']['bad']


def test_a_failed_network_is_disabled_when_deleted_and_at_stop():
    agent, server, _ = failing_agent({'bad', 'gone'})
    server.networks['bad'] = network('bad')
    server.networks['gone'] = network('gone')
    agent.sync_state()
    del server.networks['gone']
    agent.enable_network('gone')
    agent.remove_failed_networks()
    assert sorted(e for e in RecordingDriver.log if e[0] == 'disable') == [
        ('disable', 'bad'), ('disable', 'gone')]
    assert agent.drivers == {} and agent.health()['networks_failed'] == 0


def test_a_check_queued_before_a_failure_does_not_end_it():
    broken: set[str] = set()
    agent, server, _ = failing_agent(broken)
    server.networks['n1'] = network('n1')
    agent.sync_state()
    broken.add('n1')
    agent.sync_state()                  # the reload fails: retried later
    agent.check_network('n1')           # a check queued before it runs
    assert 'n1' in agent.failures
    assert agent.health()['networks_failed'] == 1


def test_checks_log_repairs_and_a_server_that_cannot_read_fails(caplog):
    agent, server, _ = failing_agent(set())
    answers = {'n1': ['host/p1 missing, rewritten'],
               'n2': DhcpServeError('dnsmasq (nobody) cannot read host/')}

    class Checked(agent.backend.driver_class):
        unserved_subnets = {'s9': 'a /32 has no address to lease'}

        def check_files(self):
            answer = answers.get(self.network['id'], [])
            if isinstance(answer, Exception):
                raise answer
            return answer
    agent.backend.driver_class = Checked
    server.networks['n1'] = network('n1')
    server.networks['n2'] = network('n2')
    agent.enable_network('n1')
    answers['n2'], later = [], answers['n2']
    agent.enable_network('n2')
    answers['n2'] = later
    caplog.set_level(logging.WARNING, 'kaon.agent.dhcp.agent')
    agent.check_networks()
    assert agent.queue.wait_idle(5)
    assert any(r.levelno == logging.WARNING and
               r.getMessage() == 'network n1: repaired host/p1 missing, '
               'rewritten' for r in caplog.records)
    health = agent.health()
    assert health['file_repairs'] == 2           # at enable and at check
    assert health['failed_networks'] == {
        'n2': 'dnsmasq (nobody) cannot read host/'}
    assert health['unserved_subnets'] == {
        's9': 'a /32 has no address to lease'}


def failing_process(tmp_path) -> process.ProcessManager:
    """A real process that exits at start with a reason on stderr."""
    net = str(uuid.uuid4())
    script = tmp_path / 'fail.py'
    script.write_text('import sys\nsys.exit("failed to create inotify: '
                      'Too many open files")\n')
    return process.ProcessManager(
        net, str(tmp_path / 'pid'),
        lambda pid_file: [sys.executable, str(script), net],
        service=os.path.basename(sys.executable))


def test_monitor_reports_a_process_that_exits_at_start_once_per_step(
        tmp_path, caplog):
    pm = failing_process(tmp_path)
    clock = Clock()

    class Conf:
        check_child_processes_interval = 1
    monitor = process.ProcessMonitor(Conf(), clock=clock)
    monitor.register(pm.uuid, pm.service, pm)
    caplog.set_level(logging.ERROR, 'kaon.agent.linux.process')
    for tick in range(10):                       # checks every second
        clock.now = float(tick)
        monitor.check()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4                       # at 0, 1, 3 and 7 s
    assert 'attempt 4, next in 8 s' in lines[-1]
    assert 'exited with 1: failed to create inotify' in lines[-1]
    assert 'failed to create inotify' in monitor.failing()[pm.uuid]
    script = tmp_path / 'fail.py'                # the cause goes away
    script.write_text(f'import os, time\nopen({pm.pid_file!r}, "w").write('
                      'str(os.getpid()))\ntime.sleep(60)\n')
    try:
        for tick in (15, 16):                    # respawned; seen up
            clock.now = float(tick)
            monitor.check()
        assert pm.active and monitor.failing() == {}
    finally:
        monitor.unregister(pm.uuid, pm.service)
        pm.disable()


class Sysctl(InotifyLimits):
    def __init__(self, tmp_path, instances: int, in_use: int,
                 writable: bool = True) -> None:
        for name, value in (('max_user_instances', instances),
                            ('max_user_watches', 4096)):
            (tmp_path / name).write_text(f'{value}\n')
        self.in_use = in_use
        self.writable = writable
        super().__init__(str(tmp_path), usage=lambda: Usage(self.in_use,
                                                            self.in_use * 3))

    def _write(self, name: str, value: int) -> None:
        if not self.writable:
            raise OSError(30, 'Read-only file system')
        super()._write(name, value)


def test_inotify_limit_is_raised_once_for_a_sync_with_headroom(tmp_path):
    limits = Sysctl(tmp_path, instances=128, in_use=10)
    limits.prepare(1000)
    assert limits.read('max_user_instances') == 1010 + 1010 // 4
    assert limits.read('max_user_watches') == 30 + (1262 - 10) * 8
    for _ in range(1000):
        limits.claim()
        limits.in_use += 1
    assert limits.read('max_user_instances') == 1262


def test_inotify_limit_that_cannot_be_raised_refuses_with_a_reason(tmp_path):
    limits = Sysctl(tmp_path, instances=128, in_use=126, writable=False)
    for _ in range(2):
        limits.claim()
        limits.in_use += 1
    with pytest.raises(HostLimitError, match='max_user_instances is 128 '
                       'with 128 inotify instances in use'):
        limits.claim()


def test_a_network_beyond_a_limit_that_cannot_be_raised_is_refused(tmp_path):
    agent, server, ready = failing_agent(set())
    agent.host_limits = Sysctl(tmp_path, instances=128, in_use=128,
                               writable=False)
    server.networks['n1'] = network('n1', ports=[{'id': 'p1'}])
    agent.sync_state()
    assert ('enable', 'n1') not in RecordingDriver.log and ready == []
    assert agent.health()['failed_networks']['n1'].startswith(
        'host limit: fs.inotify.max_user_instances is 128 with 128 inotify '
        'instances in use')
    agent.host_limits.in_use = 100              # others stopped theirs
    agent.clock.now = 1
    agent.retry_due()
    assert agent.queue.wait_idle(5)
    assert ('enable', 'n1') in RecordingDriver.log and ready == ['p1']
