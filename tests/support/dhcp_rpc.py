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
from kaon.rpc.dhcp_rpc import DhcpRpcCallback


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
        """get_network_info's shape, from the server's own code."""
        infos = self.plugin.network_infos([network_id])
        return infos[0] if infos else None


class InProcessDhcpRpc:
    """The agent's RPC client methods, answered by the server's real RPC
    endpoint (kaon.rpc.dhcp_rpc.DhcpRpcCallback) without a transport."""

    def __init__(self, cloud: Cloud, host: str) -> None:
        self.endpoint = DhcpRpcCallback(cloud.plugin)
        self.host = host
        self.calls: list[str] = []

    def _call(self, method: str, **kwargs: Any) -> Any:
        self.calls.append(method)
        return getattr(self.endpoint, method)({}, host=self.host, **kwargs)

    def create_dhcp_port(self, port: dict) -> dict:
        return self._call('create_dhcp_port', port=port)

    def update_dhcp_port(self, port_id: str, port: dict) -> dict:
        return self._call('update_dhcp_port', port_id=port_id, port=port)

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        self._call('release_dhcp_port', network_id=network_id,
                   device_id=device_id)

    def get_network_info(self, network_id: str) -> dict | None:
        return self._call('get_network_info', network_id=network_id)
