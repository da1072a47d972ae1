"""Server-side RPC endpoints for L2 agents on `q-plugin`: ML2's
RpcCallbacks (target 1.9), with its method names, keyword arguments and
answers (kaon.wire_l2), so that Neutron's linuxbridge agent could use
kaon's server as well as kaon's own.

Per device, as ML2: a device whose call fails is answered in
failed_devices / failed_devices_up / failed_devices_down and the others
still count (the agent retries the failed ones).  Whatever changes is
the plugin's; this only unpacks the calls.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import oslo_messaging

from kaon import wire_shapes
from kaon.context import Context
from kaon.plugin.core import Plugin
from kaon.wire import NetworkRef
from kaon.wire_l2 import DeviceDetails, DeviceListUpdate, DevicesDetails

LOG = logging.getLogger(__name__)
ADMIN = Context.admin()
# The request context as it came over the wire; agents act as admin.
WireContext = dict[str, Any]


def _each(devices: list[str], call: Callable[[str], Any],
          what: str) -> tuple[list[Any], list[str]]:
    """`call` on every device: the answers, and the devices that failed
    (logged with their error)."""
    done, failed = [], []
    for device in devices:
        try:
            done.append(call(device))
        except Exception:  # noqa: BLE001 - told to the agent, who retries
            LOG.exception('%s of device %s failed', what, device)
            failed.append(device)
    return done, failed


class L2RpcCallbacks:
    target = oslo_messaging.Target(version='1.9')

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    def get_device_details(self, context: WireContext,
                           **kwargs: Any) -> DeviceDetails:
        return self.plugin.get_device_details(kwargs['host'],
                                              kwargs['device'])

    def get_devices_details_list(self, context: WireContext,
                                 **kwargs: Any) -> list[DeviceDetails]:
        return [self.plugin.get_device_details(kwargs['host'], device)
                for device in kwargs.get('devices') or []]

    def get_devices_details_list_and_failed_devices(
            self, context: WireContext, **kwargs: Any) -> DevicesDetails:
        host = kwargs['host']
        done, failed = _each(
            kwargs.get('devices') or [],
            lambda d: self.plugin.get_device_details(host, d), 'details')
        return DevicesDetails(devices=done, failed_devices=failed)

    def update_device_up(self, context: WireContext, **kwargs: Any) -> None:
        """ML2 answers nothing."""
        self.plugin.update_device_up(kwargs['host'], kwargs['device'],
                                     bool(kwargs.get('refresh_tunnels')))

    def update_device_down(self, context: WireContext,
                           **kwargs: Any) -> dict[str, Any]:
        device = kwargs['device']
        return {'device': device, 'exists': self.plugin.update_device_down(
            kwargs['host'], device)}

    def update_device_list(self, context: WireContext,
                           **kwargs: Any) -> DeviceListUpdate:
        host = kwargs['host']
        refresh = bool(kwargs.get('refresh_tunnels'))

        def up(device: str) -> str:
            self.plugin.update_device_up(host, device, refresh)
            return device

        def down(device: str) -> str:
            self.plugin.update_device_down(host, device)
            return device
        devices_up, failed_up = _each(kwargs.get('devices_up') or [], up,
                                      'update up')
        devices_down, failed_down = _each(kwargs.get('devices_down') or [],
                                          down, 'update down')
        return DeviceListUpdate(devices_up=devices_up,
                                failed_devices_up=failed_up,
                                devices_down=devices_down,
                                failed_devices_down=failed_down)

    def get_network_details(self, context: WireContext,
                            **kwargs: Any) -> NetworkRef:
        """The network as the API shows it, with the keys Neutron's
        answer carries (the OVS agent asks it)."""
        return wire_shapes.network(self.plugin.get('network', ADMIN,
                                                   kwargs['network']))
