"""Choosing the DHCP backend: the `dhcp_driver` option names an entry point
of the group kaon.dhcp_drivers (pyproject.toml), as Ironic chooses its
DHCP provider; Neutron's own value for dnsmasq is taken as 'dnsmasq'.

An entry point names a class called once per agent as
`cls(conf, process_monitor, device_manager)` and giving a
kaon.wire.DhcpBackend.
"""
from __future__ import annotations

from importlib import metadata
from typing import Any, Callable, Iterable

from kaon.wire import DhcpBackend

GROUP = 'kaon.dhcp_drivers'
# Neutron's dhcp_driver value, and kaon's class path reported before the
# option existed: both mean kaon's dnsmasq backend.
ALIASES = {'neutron.agent.linux.dhcp.Dnsmasq': 'dnsmasq',
           'kaon.agent.linux.dnsmasq.Dnsmasq': 'dnsmasq'}
BackendClass = Callable[[Any, Any, Any], DhcpBackend]


class UnknownDriver(ValueError):
    """dhcp_driver names no installed backend."""


def load(name: str, available: Iterable[metadata.EntryPoint] | None = None
         ) -> BackendClass:
    """The backend class `name` stands for (`available`: the group's entry
    points, the installed ones by default).

    :raises UnknownDriver: no entry point has that name.
    """
    points = {ep.name: ep for ep in (
        metadata.entry_points(group=GROUP) if available is None
        else available)}
    wanted = ALIASES.get(name, name)
    if wanted not in points:
        raise UnknownDriver(
            f'dhcp_driver {name!r}: no such DHCP driver (entry points of '
            f'{GROUP}: {", ".join(sorted(points)) or "none installed"})')
    backend: BackendClass = points[wanted].load()
    return backend
