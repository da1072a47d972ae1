"""Running a firewall agent: the driver chosen by `firewall_driver`, the
security-group casts' consumer, the agent's loop, a status file.

The driver is an entry point of kaon.firewall_drivers (pyproject.toml),
called as `factory(conf)`.  The consumer starts first, so casts sent
during the first sync wait in its queue.  A cast whose apply fails is
logged, counted in the status and retried by a full sync on the loop's
next pass (the loop's own failures likewise); the status file
(`<state_path>/firewall-agent.json`, shown by `kaon firewall-agent
--status`) says how many ports are filtered and the last error.
"""
from __future__ import annotations

import logging
import os
import threading
from importlib import metadata
from typing import Any, Callable

from kaon.agent import status_file
from kaon.agent.firewall.agent import FirewallAgent
from kaon.agent.firewall.base import FirewallDriver
from kaon.rpc import sg_agent

LOG = logging.getLogger(__name__)
GROUP = 'kaon.firewall_drivers'
STATUS_FILE = 'firewall-agent.json'


class UnknownDriver(ValueError):
    """firewall_driver names no installed driver."""


def load(name: str) -> Callable[[Any], FirewallDriver]:
    """The factory `name` stands for.

    :raises UnknownDriver: no entry point of the group has that name."""
    points = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
    if name not in points:
        raise UnknownDriver(
            f'firewall_driver {name!r}: no such firewall driver (entry '
            f'points of {GROUP}: {", ".join(sorted(points)) or "none"})')
    factory: Callable[[Any], FirewallDriver] = points[name].load()
    return factory


def status_path(conf: Any) -> str:
    return os.path.join(conf.state_path, STATUS_FILE)


class Updates:
    """The casts, handed to the agent; a failure is the agent's to
    report and retry (an RPC endpoint's exception would only be logged
    by oslo.messaging)."""

    def __init__(self, agent: FirewallAgent) -> None:
        self.agent = agent

    def security_groups_rule_updated(self, security_groups: list[str]
                                     ) -> None:
        self._run(self.agent.security_groups_rule_updated, security_groups)

    def security_groups_member_updated(self, security_groups: list[str]
                                       ) -> None:
        self._run(self.agent.security_groups_member_updated,
                  security_groups)

    def _run(self, call: Callable[[list[str]], None],
             groups: list[str]) -> None:
        try:
            call(groups)
        except Exception as err:  # noqa: BLE001 - reported and retried
            self.agent.failed(err)


class FirewallAgentService:
    def __init__(self, conf: Any) -> None:
        """:raises UnknownDriver: firewall_driver names no driver.
        :raises kaon.agent.firewall.base.FirewallError: the driver
            cannot work on this host (br_netfilter missing)."""
        self.conf = conf
        self.driver = load(conf.firewall_driver)(conf)
        self.agent = FirewallAgent(sg_agent.SecurityGroupServerRpcApi(),
                                   self.driver, conf.bridge_prefix)
        self.rpc = sg_agent.consumer(conf.host, Updates(self.agent))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> FirewallAgentService:
        self.rpc.start()
        self._spawn(self._loop, 'firewall-agent')
        return self

    def stop(self) -> None:
        """Stop the casts and the loop; the rules stay in force (a
        restarted agent takes them over, as dnsmasq is adopted)."""
        self._stop.set()
        self.rpc.stop()
        self.rpc.wait()
        for thread in self._threads:
            thread.join()

    def remove_filters(self) -> None:
        """Nothing filtered any more (after stop())."""
        self.driver.remove_all()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _loop(self) -> None:
        writer = threading.Thread(target=self._write_status_loop,
                                  name='firewall-status', daemon=True)
        writer.start()
        self.agent.run(self._stop, self.conf.firewall_poll_interval,
                       self.conf.firewall_resync_interval)
        writer.join()
        self._write_status()

    def _write_status_loop(self) -> None:
        while not self._stop.wait(self.conf.firewall_poll_interval):
            self._write_status()

    def _write_status(self) -> None:
        status_file.write(status_path(self.conf), {
            **self.agent.status,
            'firewall_driver': self.conf.firewall_driver})
