"""The real kaon plugin in-process, behind the DHCP agent's RPC methods.

A stand-in for the agent's RPC client in data-plane tests: every port dict
the driver sees comes from kaon's own plugin and IPAM on a SQLite file, so
tests exercise the real shapes (fixed_ips, extra_dhcp_opts, MACs) instead
of hand-made ones.  Bodies go through the API's attribute maps first, as
they would over HTTP or RPC, so defaults are filled in the same way.
"""
from __future__ import annotations

import os
from typing import Any

from kaon.api import attributes
from kaon.api.definitions import RESOURCES
from kaon.context import Context
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin.core import Plugin
from kaon.plugin.query import ListQuery

DEVICE_OWNER_DHCP = 'network:dhcp'


class Cloud:
    """Networks, subnets and ports through kaon's plugin, as admin."""

    def __init__(self, state_dir: str) -> None:
        self.db = Database('sqlite:///' + os.path.join(state_dir,
                                                       'kaon.sqlite'))
        migrate.upgrade(self.db.engine)
        self.plugin = Plugin(self.db)
        self.ctx = Context.admin()

    def _prepare(self, resource: str, body: dict, creating: bool) -> dict:
        return attributes.prepare_body(RESOURCES[resource + 's'], self.ctx,
                                       {resource: body}, creating)[0]

    def create(self, resource: str, **body: Any) -> dict:
        item = self._prepare(resource, body, creating=True)
        return self.plugin.create(resource, self.ctx, [item])[0]

    def update(self, resource: str, item_id: str, **body: Any) -> dict:
        item = self._prepare(resource, body, creating=False)
        return self.plugin.update(resource, self.ctx, item_id, item)

    def delete(self, resource: str, item_id: str) -> None:
        self.plugin.delete(resource, self.ctx, item_id)

    def get(self, resource: str, item_id: str) -> dict:
        return self.plugin.get(resource, self.ctx, item_id)

    def list(self, resource: str, **filters: Any) -> list[dict]:
        query = ListQuery(filters={k: v if isinstance(v, list) else [v]
                                   for k, v in filters.items()})
        return self.plugin.list(resource, self.ctx, query)

    def network_info(self, network_id: str) -> dict | None:
        """get_network_info's shape: the network, its DHCP-enabled subnets
        as dicts sorted by id, and all its ports."""
        networks = self.list('network', id=network_id)
        if not networks:
            return None
        subnets = sorted((s for s in self.list('subnet',
                                               network_id=network_id)
                          if s['enable_dhcp']), key=lambda s: s['id'])
        ports = self.list('port', network_id=network_id)
        return dict(networks[0], subnets=subnets, non_local_subnets=[],
                    ports=ports)


class InProcessDhcpRpc:
    """create/update/release_dhcp_port and get_network_info, over Cloud,
    with the server-side rules RPC.md describes."""

    def __init__(self, cloud: Cloud, host: str) -> None:
        self.cloud = cloud
        self.host = host
        self.calls: list[str] = []

    def create_dhcp_port(self, port: dict) -> dict:
        """The server forces the owner and the binding host."""
        self.calls.append('create_dhcp_port')
        body = dict(port['port'], device_owner=DEVICE_OWNER_DHCP)
        body['binding:host_id'] = self.host
        return self.cloud.create('port', **body)

    def update_dhcp_port(self, port_id: str, port: dict) -> dict:
        self.calls.append('update_dhcp_port')
        body = {k: v for k, v in port['port'].items() if k != 'network_id'}
        return self.cloud.update('port', port_id, **body)

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        self.calls.append('release_dhcp_port')
        for port in self.cloud.list('port', network_id=network_id,
                                    device_id=device_id):
            self.cloud.delete('port', port['id'])

    def get_network_info(self, network_id: str) -> dict | None:
        self.calls.append('get_network_info')
        return self.cloud.network_info(network_id)
