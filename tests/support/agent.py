"""`kaon dhcp-agent` processes for split-mode tests, and polling.

Each AgentProcess is one "network node": host `kt-agent-<n>`, its own state
path and config file, its own namespace prefix `kt<n>-qdhcp-` (so several
agents on one machine do not share namespaces; it starts with `kt` like
every test name) and the shared bridge prefix `ktbr`, so that the DHCP
ports of all agents serving a network join that network's one bridge, as
network nodes join one L2 segment.  `n` counts up per pytest process.

    agents = Agents(rabbit.url, options={'check_child_processes_interval': 1})
    first = agents.start()
    ...
    agents.close()      # kills every agent still running, removes states

close() kills the agent processes only: dnsmasqs an agent started outlive
it (that is the point: a restarted agent adopts them), so the caller
removes them and the namespaces, e.g. with tests/e2e/conftest.cleanup(
agent.state, ...) before close().
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

BRIDGE_PREFIX = 'ktbr'
REPORT_INTERVAL = 1


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.2) -> Any:
    """Poll until predicate() is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout}s: {what}')
        time.sleep(interval)


class AgentProcess:
    """A `kaon dhcp-agent` process with its own config and state path.

    `options` are more [DEFAULT] options; `state_prefix` names the state
    directory (dnsmasq command lines hold it, so it marks them for clean-up).
    """

    def __init__(self, number: int, transport_url: str,
                 options: dict[str, Any] | None = None,
                 state_prefix: str | None = None) -> None:
        self.number = number
        self.host = f'kt-agent-{number}'
        self.namespace_prefix = f'kt{number}-qdhcp-'
        self.bridge_prefix = BRIDGE_PREFIX
        self.state = tempfile.mkdtemp(
            prefix=state_prefix or f'kt-agent-{number}-')
        self.config = os.path.join(self.state, 'kaon.conf')
        self.log_path = os.path.join(self.state, 'agent.log')
        self.proc: subprocess.Popen | None = None
        settings = {'transport_url': transport_url, 'host': self.host,
                    'state_path': self.state,
                    'report_interval': REPORT_INTERVAL,
                    'dhcp_namespace_prefix': self.namespace_prefix,
                    'bridge_prefix': self.bridge_prefix, **(options or {})}
        with open(self.config, 'w') as f:
            f.write('[DEFAULT]\n' + ''.join(f'{k} = {v}\n'
                                            for k, v in settings.items()))

    # -- names of what it makes ----------------------------------------------
    def namespace(self, network_id: str) -> str:
        return self.namespace_prefix + network_id

    def bridge(self, network_id: str) -> str:
        return self.bridge_prefix + network_id[:11]

    def dhcp_dir(self, network_id: str) -> str:
        return os.path.join(self.state, 'dhcp', network_id)

    def dnsmasq_pid(self, network_id: str) -> int | None:
        """The pid in the network's dnsmasq pid file, if any."""
        try:
            with open(os.path.join(self.dhcp_dir(network_id), 'pid')) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # -- life cycle ----------------------------------------------------------
    def start(self) -> 'AgentProcess':
        """Start (or start again: same config, host and state path)."""
        assert not self.running(), f'{self.host} is already running'
        with open(self.log_path, 'a') as log:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'kaon.cli.main', '--config-file',
                 self.config, 'dhcp-agent'], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def signal(self, signum: int, timeout: float = 20) -> int:
        """Send signum and wait for the process to end; its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f'{self.host} did not exit within {timeout}s of signal '
                f'{signum}:\n{self.log()}') from None

    def kill(self) -> None:
        """SIGKILL (also a stopped process) and reap it; no-op if gone."""
        if self.running():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP: the process is there but does nothing (a hung agent)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self, tail: int = 4000) -> str:
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-tail:]
        except OSError:
            return ''

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.state, ignore_errors=True)


class Agents:
    """Starts agents for one test; stops them all at its end."""

    number = 0

    def __init__(self, transport_url: str,
                 options: dict[str, Any] | None = None,
                 state_prefix: str | None = None) -> None:
        self.transport_url = transport_url
        self.options = options
        self.state_prefix = state_prefix
        self.started: list[AgentProcess] = []

    def start(self) -> AgentProcess:
        Agents.number += 1
        number = Agents.number
        prefix = self.state_prefix and f'{self.state_prefix}{number}-'
        agent = AgentProcess(number, self.transport_url, self.options,
                             prefix).start()
        self.started.append(agent)
        return agent

    def logs(self, tail: int = 4000) -> str:
        return '\n'.join(f'--- {a.host} (running: {a.running()})\n'
                         f'{a.log(tail)}' for a in self.started)

    def kill_all(self) -> None:
        for agent in self.started:
            agent.kill()

    def close(self) -> None:
        for agent in self.started:
            agent.close()
