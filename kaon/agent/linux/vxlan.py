"""VXLAN devices and their forwarding entries, over netlink (pyroute2).

What Neutron's linuxbridge agent does with `ip link add ... type vxlan`,
`bridge fdb` and `ip neigh`, without a process per call.  Protocol facts:

* Linux's default VXLAN UDP port is 8472 (pre-IANA); IANA's is 4789
  (RFC 7348), which Neutron and kaon set explicitly.
* With l2population there is no multicast group and no learning: the
  device floods broadcast and unknown unicast to every destination of
  its all-zeros entries (`00:00:00:00:00:00 dst <peer>`, one per peer,
  appended: head-end replication) and sends a known MAC to the one
  destination of its entry (replaced, so a port that moved hosts moves).
* A forwarding entry made by the agent is NUD_PERMANENT|NUD_NOARP with
  NTF_SELF (the vxlan device's own table, not the bridge's).
* With arp_responder the device answers ARP itself (IFLA_VXLAN_PROXY)
  from permanent neighbour entries `<ip> lladdr <mac>`.
"""
from __future__ import annotations

import dataclasses
import errno
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import ndmsg

from kaon.agent.linux import ip_lib

PREFIX = 'vxlan-'
FLOOD_MAC = '00:00:00:00:00:00'
_FDB_STATE = ndmsg.states['permanent'] | ndmsg.states['noarp']
_FDB_FLAGS = ndmsg.flags['self']


def device_name(vni: int) -> str:
    """Neutron's name for the network's VXLAN device (at most 15 bytes
    for any 24-bit VNI)."""
    return f'{PREFIX}{vni}'


@dataclasses.dataclass(frozen=True)
class VxlanSpec:
    """What a VXLAN device is made with; one that differs is remade."""
    vni: int
    local_ip: str
    dstport: int
    learning: bool = False
    proxy: bool = False
    ttl: int | None = None
    tos: int | None = None


def _attrs(spec: VxlanSpec) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        'vxlan_id': spec.vni, 'vxlan_local': spec.local_ip,
        'vxlan_port': spec.dstport, 'vxlan_learning': int(spec.learning),
        'vxlan_proxy': int(spec.proxy)}
    if spec.ttl is not None:
        attrs['vxlan_ttl'] = spec.ttl
    if spec.tos is not None:
        attrs['vxlan_tos'] = spec.tos
    return attrs


def spec_of(name: str, namespace: str | None = None) -> VxlanSpec | None:
    """The device's VXLAN parameters as the kernel has them (None: no
    such device, or not a VXLAN device)."""
    with ip_lib.netlink(namespace) as ipr:
        index = ip_lib.link_index(ipr, name)
        if index is None:
            return None
        info = ipr.get_links(index)[0].get('IFLA_LINKINFO')
    if not info or info.get('IFLA_INFO_KIND') != 'vxlan':
        return None
    data = info.get('IFLA_INFO_DATA')
    ttl, tos = data.get('IFLA_VXLAN_TTL'), data.get('IFLA_VXLAN_TOS')
    return VxlanSpec(
        vni=data.get('IFLA_VXLAN_ID'), local_ip=data.get('IFLA_VXLAN_LOCAL'),
        dstport=data.get('IFLA_VXLAN_PORT'),
        learning=bool(data.get('IFLA_VXLAN_LEARNING')),
        proxy=bool(data.get('IFLA_VXLAN_PROXY')),
        ttl=ttl or None, tos=tos or None)


def _same(found: VxlanSpec, wanted: VxlanSpec) -> bool:
    """ttl/tos unset means the kernel's default (0: inherit)."""
    return found == dataclasses.replace(
        wanted, ttl=wanted.ttl or None, tos=wanted.tos or None)


def ensure(name: str, spec: VxlanSpec) -> bool:
    """The VXLAN device `name` as `spec` says; an existing one that
    matches is kept with its forwarding entries (an agent restart adopts
    it), one that does not is remade.  True if it was made now."""
    found = spec_of(name)
    if found is not None and _same(found, spec):
        return False
    with ip_lib.netlink() as ipr:
        index = ip_lib.link_index(ipr, name)
        if index is not None:
            ipr.link('del', index=index)
        try:
            ipr.link('add', ifname=name, kind='vxlan', **_attrs(spec))
        except NetlinkError as err:
            if err.code != errno.EEXIST:
                raise
    return True


# -- forwarding entries -------------------------------------------------------
Entry = tuple[str, str]         # (mac, destination IP)


def fdb_entries(name: str, namespace: str | None = None) -> set[Entry]:
    """The device's own (NTF_SELF) entries with a destination: what
    l2population put there (the bridge's learned entries have none)."""
    with ip_lib.netlink(namespace) as ipr:
        index = ip_lib.link_index(ipr, name)
        if index is None:
            return set()
        return {(msg.get('NDA_LLADDR'), msg.get('NDA_DST'))
                for msg in ipr.fdb('dump', ifindex=index)
                if msg['ifindex'] == index and msg.get('NDA_DST')}


def _request(table: str, command: str, name: str, ignore: int = 0,
             **attrs: Any) -> None:
    """`ipr.fdb` or `ipr.neigh` (`table`) `command` on device `name`.
    The errno `ignore` counts as done: EEXIST for an append, ENOENT for a
    delete (for which a device already gone is done too)."""
    with ip_lib.netlink() as ipr:
        index = ip_lib.link_index(ipr, name)
        if index is None:
            if ignore == errno.ENOENT:
                return
            raise OSError(errno.ENODEV, f'no device {name}')
        try:
            getattr(ipr, table)(command, ifindex=index, **attrs)
        except NetlinkError as err:
            if err.code != ignore:
                raise


def fdb_append(name: str, mac: str, dst: str) -> None:
    """One more destination for `mac` (the flooding entry's peers)."""
    _request('fdb', 'append', name, errno.EEXIST, lladdr=mac, dst=dst,
             state=_FDB_STATE, flags=_FDB_FLAGS)


def fdb_replace(name: str, mac: str, dst: str) -> None:
    """`mac` is behind `dst` only (a port's MAC)."""
    _request('fdb', 'replace', name, lladdr=mac, dst=dst, state=_FDB_STATE,
             flags=_FDB_FLAGS)


def fdb_delete(name: str, mac: str, dst: str) -> None:
    """Remove one entry; one already gone is fine."""
    _request('fdb', 'del', name, errno.ENOENT, lladdr=mac, dst=dst,
             state=_FDB_STATE, flags=_FDB_FLAGS)


def neigh_replace(name: str, ip: str, mac: str) -> None:
    """A permanent neighbour entry on the device, for its ARP proxy."""
    _request('neigh', 'replace', name, dst=ip, lladdr=mac,
             state=ndmsg.states['permanent'])


def neigh_delete(name: str, ip: str, mac: str) -> None:
    _request('neigh', 'del', name, errno.ENOENT, dst=ip, lladdr=mac)


def neighbours(name: str, namespace: str | None = None) -> set[Entry]:
    """(ip, mac) of the device's permanent neighbour entries."""
    with ip_lib.netlink(namespace) as ipr:
        index = ip_lib.link_index(ipr, name)
        if index is None:
            return set()
        return {(msg.get('NDA_DST'), msg.get('NDA_LLADDR'))
                for msg in ipr.get_neighbours(ifindex=index)
                if msg['state'] & ndmsg.states['permanent']}
