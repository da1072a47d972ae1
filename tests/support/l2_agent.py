"""An L2 agent's RPC side without its data plane, for tests of the
server: it reports state (with a tunneling_ip), calls ML2's endpoints on
`q-plugin` as Neutron's linuxbridge agent does, and records what
l2population casts to it (a real oslo.messaging consumer on
`q-agent-notifier-l2population-update`, fanout and `.<host>`).
"""
from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging
from oslo_config import cfg

from kaon.conf import load, register_messaging_opts
from kaon.constants import AGENT_TYPE_LINUXBRIDGE
from kaon.rpc import common
from kaon.wire_l2 import FLOODING_ENTRY, L2POP_TOPIC


def rpc_conf(transport_url: str) -> cfg.ConfigOpts:
    """kaon's options, with RPC over `transport_url` (clear_override
    'transport_url' when done): oslo.messaging's drivers read options of
    their own from the same object."""
    conf = load()
    register_messaging_opts(conf)
    conf.set_override('transport_url', transport_url)
    return conf


class FdbRecorder:
    """Every add/remove_fdb_entries received, with its arrival time."""
    target = oslo_messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.casts: list[tuple[float, str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _record(self, method: str, fdb_entries: dict[str, Any]) -> None:
        with self.lock:
            self.casts.append((time.monotonic(), method, fdb_entries))

    def add_fdb_entries(self, context: Any, fdb_entries: dict) -> None:
        self._record('add_fdb_entries', fdb_entries)

    def remove_fdb_entries(self, context: Any, fdb_entries: dict) -> None:
        self._record('remove_fdb_entries', fdb_entries)

    def entries(self, method: str, network_id: str, since: float = 0.0
                ) -> dict[str, list[list[str]]]:
        """tunneling_ip -> the entries of `method` casts for the network
        that arrived at or after `since` (in arrival order)."""
        found: dict[str, list[list[str]]] = {}
        with self.lock:
            for at, name, fdb in self.casts:
                if name == method and at >= since and network_id in fdb:
                    for ip, entries in fdb[network_id]['ports'].items():
                        found.setdefault(ip, []).extend(entries)
        return found

    def floods(self, network_id: str, since: float = 0.0) -> set[str]:
        """The hosts (tunneling IPs) added as flooding targets."""
        return {ip for ip, entries in self.entries(
            'add_fdb_entries', network_id, since).items()
            if FLOODING_ENTRY in entries}


class FakeL2Agent:
    def __init__(self, conf: cfg.ConfigOpts, host: str,
                 tunneling_ip: str) -> None:
        self.host, self.ip = host, tunneling_ip
        self.agent_id = f'lb-{host}'
        self.plugin = common.client(common.PLUGIN, '1.9', conf=conf)
        self.reports = common.client(common.REPORTS, '1.4', conf=conf)
        self.fdb = FdbRecorder()
        self.consumer = common.server(L2POP_TOPIC, host, [self.fdb],
                                      conf=conf)
        self.consumer.start()

    def report(self, start_flag: bool = False) -> Any:
        state = {
            'binary': 'neutron-linuxbridge-agent', 'host': self.host,
            'topic': 'N/A', 'agent_type': AGENT_TYPE_LINUXBRIDGE,
            'start_flag': start_flag,
            'configurations': {'tunneling_ip': self.ip,
                               'tunnel_types': ['vxlan'],
                               'l2_population': True, 'devices': 0,
                               'interface_mappings': {},
                               'bridge_mappings': {}, 'extensions': []}}
        return self.reports.prepare(timeout=30).call(
            common.admin_context(), 'report_state',
            agent_state={'agent_state': state}, time='')

    def call(self, method: str, version: str = '1.9', **kwargs: Any) -> Any:
        return self.plugin.prepare(version=version, timeout=60).call(
            common.admin_context(), method, agent_id=self.agent_id,
            host=self.host, **kwargs)

    def devices_up(self, devices: list[str],
                   refresh_tunnels: bool = False) -> Any:
        return self.call('update_device_list', devices_up=devices,
                         devices_down=[], refresh_tunnels=refresh_tunnels)

    def devices_down(self, devices: list[str]) -> Any:
        return self.call('update_device_list', devices_up=[],
                         devices_down=devices, refresh_tunnels=False)

    def close(self) -> None:
        self.consumer.stop()
        self.consumer.wait()
