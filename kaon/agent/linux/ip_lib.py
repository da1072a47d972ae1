"""Namespaces, bridges and veth pairs over netlink (pyroute2).

Everything here talks netlink directly instead of running `ip` and parsing
its output: that is faster (no fork per call), and errors come back as
errno values rather than localised text.  Every `ensure_*` call is
idempotent, so the agent can re-run a whole setup after a crash or a resync
without first working out what is already there.

Entering a namespace: pyroute2's own way (IPRoute(netns=...), netns.create)
forks the Python process and runs Python code in the child.  In a process
with other threads (the agent: RPC, work queue, process monitor) that child
can inherit a lock some other thread held at fork time and hang for ever
(seen: an agent stuck in its first network setup).  So a netlink socket for
a namespace is opened by the calling thread itself after setns(2), which
moves only that thread, and the thread moves back at once; the socket stays
in the namespace it was opened in.  Namespaces are created by `ip netns add`
(fork+exec, no Python in the child), which also sets up /run/netns the way
every other tool expects.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import ipaddress
import logging
import os
import subprocess
from typing import Any, Iterable, Iterator

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

LOG = logging.getLogger(__name__)

NETNS_RUN_DIR = '/run/netns'
CLONE_NEWNET = 0x40000000
# IFA_F_NODAD: an address the server allocated is unique by construction;
# waiting ~1 s for duplicate address detection would only keep dnsmasq from
# binding it (a "tentative" IPv6 address cannot be bound).
IFA_F_NODAD = 0x02
IFF_UP = 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def _in_namespace(name: str) -> Iterator[None]:
    """Run the block with this thread (only) in namespace `name`."""
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def _ipr(namespace: str | None = None) -> IPRoute:
    """A netlink socket in the root namespace or inside `namespace`."""
    if namespace is None:
        return IPRoute()
    with _in_namespace(namespace):
        return IPRoute()        # the socket is opened here, in the namespace


# -- namespaces ---------------------------------------------------------------
def list_namespaces() -> list[str]:
    return sorted(netns.listnetns())


def namespace_exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_RUN_DIR, name))


def ensure_namespace(name: str) -> None:
    """Create the namespace (with lo up) unless it exists."""
    if not namespace_exists(name):
        result = subprocess.run(['ip', 'netns', 'add', name],
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0 and not namespace_exists(name):
            raise OSError(f'ip netns add {name}: {result.stderr.strip()}')
    set_lo_up(name)


def delete_namespace(name: str) -> None:
    """Remove the namespace; devices still inside it go with it."""
    if namespace_exists(name):
        try:
            netns.remove(name)      # umount + unlink, no fork
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise


def set_lo_up(namespace: str) -> None:
    with _ipr(namespace) as ipr:
        ipr.link('set', index=ipr.link_lookup(ifname='lo')[0], state='up')


# -- devices ------------------------------------------------------------------
def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def device_exists(name: str, namespace: str | None = None) -> bool:
    if namespace is not None and not namespace_exists(namespace):
        return False
    with _ipr(namespace) as ipr:
        return _index(ipr, name) is not None


def list_devices(namespace: str | None = None) -> list[str]:
    """Names of the links in the root namespace or in `namespace`."""
    if namespace is not None and not namespace_exists(namespace):
        return []
    with _ipr(namespace) as ipr:
        return sorted(link.get('ifname') for link in ipr.get_links())


def delete_device(name: str, namespace: str | None = None) -> None:
    """Delete a link if present (deleting one end of a veth removes both)."""
    if namespace is not None and not namespace_exists(namespace):
        return
    with _ipr(namespace) as ipr:
        index = _index(ipr, name)
        if index is None:
            return
        try:
            ipr.link('del', index=index)
        except NetlinkError as err:
            if err.code != errno.ENODEV:
                raise


# -- bridges ------------------------------------------------------------------
def ensure_bridge(name: str) -> None:
    """A Linux bridge in the root namespace, up.

    STP stays off (the kernel default), so ports forward as soon as they
    are up: a VM's first DHCPDISCOVER is not lost in a listening state.
    """
    with _ipr() as ipr:
        if _index(ipr, name) is None:
            try:
                ipr.link('add', ifname=name, kind='bridge')
            except NetlinkError as err:
                if err.code != errno.EEXIST:
                    raise
        ipr.link('set', index=_index(ipr, name), state='up')


def bridge_ports(name: str) -> list[str]:
    """Names of the devices enslaved to bridge `name` ([] if no bridge)."""
    with _ipr() as ipr:
        index = _index(ipr, name)
        if index is None:
            return []
        return sorted(link.get('ifname') for link in ipr.get_links()
                      if link.get('master') == index)


def delete_bridge_if_unused(name: str) -> bool:
    """Delete the bridge when no port is left on it; True if deleted."""
    if not device_exists(name) or bridge_ports(name):
        return False
    delete_device(name)
    return True


# -- veth pairs ---------------------------------------------------------------
def plug_veth(namespace: str, ns_name: str, root_name: str, bridge: str,
              mac: str, mtu: int, cidrs: Iterable[str]) -> None:
    """A veth pair: `ns_name` in `namespace` with `mac`, `mtu` and exactly
    the addresses `cidrs`; `root_name` enslaved to `bridge`.  Both up."""
    ensure_namespace(namespace)
    ensure_bridge(bridge)
    if not (device_exists(root_name) and
            device_exists(ns_name, namespace)):
        # A half-made pair (agent died between two steps) is rebuilt.
        delete_device(root_name)
        delete_device(ns_name, namespace)
        with _ipr() as ipr:
            ipr.link('add', ifname=root_name, kind='veth',
                     peer={'ifname': ns_name, 'net_ns_fd': namespace})
    with _ipr(namespace) as ipr:
        index = _index(ipr, ns_name)
        if index is None:
            raise OSError(f'{ns_name} vanished from {namespace}')
        ipr.link('set', index=index, address=mac, mtu=mtu)
        _sync_addresses(ipr, index, cidrs)
        ipr.link('set', index=index, state='up')
    with _ipr() as ipr:
        index = _index(ipr, root_name)
        ipr.link('set', index=index, mtu=mtu,
                 master=_index(ipr, bridge), state='up')


def veth_in_place(namespace: str, ns_name: str, root_name: str,
                  bridge: str, mac: str, mtu: int,
                  cidrs: Iterable[str]) -> bool:
    """Would plug_veth change nothing?  Two netlink sockets instead of a
    full re-plug: what an agent restart finds for every network it serves.
    `ns_name` must also be the namespace's only device besides lo."""
    if not namespace_exists(namespace):
        return False
    with _ipr(namespace) as ipr:
        links = {link.get('ifname'): link for link in ipr.get_links()}
        device = links[ns_name] if set(links) == {'lo', ns_name} else None
        if device is None or device.get('address') != mac \
                or device.get('mtu') != mtu or device['state'] != 'up':
            return False
        if _global_addresses(ipr, device['index']) != \
                {ipaddress.ip_interface(c) for c in cidrs}:
            return False
    with _ipr() as ipr:
        tap, master = _index(ipr, root_name), _index(ipr, bridge)
        if tap is None or master is None:
            return False
        link = ipr.get_links(tap)[0]
        return bool(link.get('master') == master and link['state'] == 'up')


Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _global_addresses(ipr: IPRoute, index: int) -> set[Interface]:
    """The device's addresses, without the kernel's IPv6 link-local one."""
    present: set[Interface] = set()
    for msg in ipr.get_addr(index=index):
        iface = ipaddress.ip_interface(
            f"{msg.get('IFA_ADDRESS')}/{msg['prefixlen']}")
        if not iface.ip.is_link_local:
            present.add(iface)
    return present


def _sync_addresses(ipr: IPRoute, index: int, cidrs: Iterable[str]) -> None:
    """Make the device's global addresses exactly `cidrs`.

    Link-local IPv6 addresses are the kernel's and stay.
    """
    wanted = {ipaddress.ip_interface(c) for c in cidrs}
    present = _global_addresses(ipr, index)
    for iface in present - wanted:
        ipr.addr('del', index=index, address=str(iface.ip),
                 prefixlen=iface.network.prefixlen)
    for iface in wanted - present:
        extra = {'flags': IFA_F_NODAD} if iface.version == 6 else {}
        try:
            ipr.addr('add', index=index, address=str(iface.ip),
                     prefixlen=iface.network.prefixlen, **extra)
        except NetlinkError as err:
            if err.code != errno.EEXIST:
                raise


def device_addresses(name: str, namespace: str | None = None) -> list[str]:
    """The global addresses of a device, in CIDR form (for checks/tests)."""
    with _ipr(namespace) as ipr:
        index = _index(ipr, name)
        if index is None:
            return []
        return sorted(str(i) for i in _global_addresses(ipr, index))


# -- the L2 agent's links -----------------------------------------------------
def netlink(namespace: str | None = None) -> IPRoute:
    """A netlink socket in this process's namespace or in `namespace`
    (close it, e.g. `with netlink() as ipr:`)."""
    return _ipr(namespace)


def link_index(ipr: IPRoute, name: str) -> int | None:
    return _index(ipr, name)


@dataclasses.dataclass(frozen=True)
class Link:
    """One link as a single dump shows it."""
    name: str
    index: int
    master: int | None      # the bridge it is a port of
    kind: str | None        # 'bridge', 'vxlan', 'veth', 'vlan'...
    mtu: int
    up: bool


def links(namespace: str | None = None) -> dict[str, Link]:
    """Every link by name: one netlink dump, for a whole rescan."""
    with _ipr(namespace) as ipr:
        return {(link := _link(msg)).name: link for msg in ipr.get_links()}


def _link(msg: Any) -> Link:
    info = msg.get('IFLA_LINKINFO')
    return Link(name=msg.get('ifname'), index=msg['index'],
                master=msg.get('master'),
                kind=info.get('IFLA_INFO_KIND') if info else None,
                mtu=msg.get('mtu'), up=bool(msg['flags'] & IFF_UP))


def set_link(name: str, mtu: int | None = None, up: bool = True,
             master: str | None = None) -> None:
    """Set a device's MTU, its bridge (`master`) and its state at once.

    :raises OSError: the device or the bridge is missing."""
    with _ipr() as ipr:
        index = _index(ipr, name)
        if index is None:
            raise OSError(errno.ENODEV, f'no device {name}')
        spec: dict[str, Any] = {'state': 'up' if up else 'down'}
        if mtu is not None:
            spec['mtu'] = mtu
        if master is not None:
            bridge = _index(ipr, master)
            if bridge is None:
                raise OSError(errno.ENODEV, f'no bridge {master}')
            spec['master'] = bridge
        ipr.link('set', index=index, **spec)


def ensure_vlan(parent: str, vlan_id: int) -> str:
    """The 802.1Q sub-interface `<parent>.<vlan_id>` (made if missing),
    up; its name.  `parent` must exist (a physical interface).

    :raises OSError: no such parent interface."""
    name = f'{parent}.{vlan_id}'
    with _ipr() as ipr:
        if _index(ipr, name) is None:
            link = _index(ipr, parent)
            if link is None:
                raise OSError(errno.ENODEV, f'no interface {parent}')
            try:
                ipr.link('add', ifname=name, kind='vlan', link=link,
                         vlan_id=vlan_id)
            except NetlinkError as err:
                if err.code != errno.EEXIST:
                    raise
        ipr.link('set', index=_index(ipr, name), state='up')
    return name
