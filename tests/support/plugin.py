"""A real plugin on a SQLite file, for tests that talk to it directly (its
RPC side, its scheduling), the agent rows, networks and ports they need,
and a recorder of casts standing where a DHCP agent would."""
from __future__ import annotations

import datetime
import threading
from typing import Any

import oslo_messaging

from kaon import conf
from kaon.context import Context
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.db.models import agents
from kaon.plugin.core import Plugin
from kaon.scheduler.liveness import utc_now

ADMIN = Context.admin()


def sqlite_plugin(directory: str) -> Plugin:
    """A plugin on a fresh, migrated database in `directory` (dispose of
    `plugin.db` when done)."""
    conf.load()
    db = Database(f'sqlite:///{directory}/kaon.sqlite')
    migrate.upgrade(db.engine)
    return Plugin(db)


def fall_silent(plugin: Plugin, host: str, seconds: float) -> None:
    """The agent on `host` last reported `seconds` ago: its heartbeats
    stopped then (what the row of a dead agent looks like; liveness is
    the stored heartbeat against the clock)."""
    last = utc_now() - datetime.timedelta(seconds=seconds)
    plugin.db.write(lambda conn: conn.execute(
        agents.update().where(agents.c.host == host)
        .values(heartbeat_timestamp=last)))


def network_with_subnet(plugin: Plugin, cidr: str = '10.61.0.0/24'
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A network of project p with one DHCP-enabled IPv4 subnet."""
    net = plugin.create('network', ADMIN, [{
        'name': 'n', 'project_id': 'p', 'admin_state_up': True,
        'mtu': 1500}])[0]
    subnet = plugin.create('subnet', ADMIN, [{
        'network_id': net['id'], 'project_id': 'p', 'ip_version': 4,
        'cidr': cidr, 'enable_dhcp': True}])[0]
    return net, subnet


def new_port(plugin, net, **extra):
    body = {'network_id': net['id'], 'project_id': 'p', 'device_owner': '',
            'device_id': 'vm', **extra}
    return plugin.create('port', ADMIN, [body])[0]


CASTS = ('network_create_end', 'network_update_end', 'network_delete_end',
         'subnet_create_end', 'subnet_update_end', 'subnet_delete_end',
         'port_create_end', 'port_update_end', 'port_delete_end',
         'agent_updated')


class Recorder:
    """Records every cast it receives, as (method, payload)."""
    target = oslo_messaging.Target(version='1.0')

    def __init__(self) -> None:
        self.casts: list[tuple[str, dict]] = []
        self.arrived = threading.Condition()
        for method in CASTS:
            setattr(self, method, self._recorder(method))

    def _recorder(self, method):
        def record(context, payload):
            with self.arrived:
                self.casts.append((method, payload))
                self.arrived.notify_all()
        return record

    def wait_for(self, method, timeout=5.0):
        with self.arrived:
            ok = self.arrived.wait_for(
                lambda: any(m == method for m, _ in self.casts), timeout)
        assert ok, f'no {method} cast; got {[m for m, _ in self.casts]}'
        return [p for m, p in self.casts if m == method]

    def methods(self):
        return [m for m, _ in self.casts]
