"""A port set administratively down is DOWN, and an agent's later report
does not make it ACTIVE again (Neutron: the L2 agent reports the device
down; PortsTestJSON.test_port_shut_down waits for it on a DHCP port)."""
from __future__ import annotations

from pathlib import Path

from kaon.context import Context
from tests.support.plugin import network_with_subnet, new_port, sqlite_plugin

ADMIN = Context.admin()


def test_admin_down_port_is_down_until_admin_up_and_reported(
        tmp_path: Path) -> None:
    plugin = sqlite_plugin(str(tmp_path))
    try:
        net, _ = network_with_subnet(plugin)
        port = new_port(plugin, net, device_owner='network:dhcp')

        def status() -> str:
            return str(plugin.get('port', ADMIN, port['id'])['status'])

        plugin.set_ports_status([port['id']], 'ACTIVE')
        assert status() == 'ACTIVE'
        plugin.update('port', ADMIN, port['id'], {'admin_state_up': False})
        assert status() == 'DOWN'
        plugin.set_ports_status([port['id']], 'ACTIVE')   # a later reload
        assert status() == 'DOWN'
        plugin.update('port', ADMIN, port['id'], {'admin_state_up': True})
        plugin.set_ports_status([port['id']], 'ACTIVE')
        assert status() == 'ACTIVE'
    finally:
        plugin.db.dispose()
