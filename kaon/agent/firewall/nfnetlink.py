"""Just enough nfnetlink: conntrack's flows, and the ruleset generation.

Conntrack: list the flows of some zones and delete some of them.

pyroute2's Conntrack decodes every attribute of every entry through its
generic NLA machinery: about 2 ms per entry and 40 ms per dump here, too
slow for a firewall that cuts flows on every rule removal.  The protocol
is small (linux/netfilter/nfnetlink_conntrack.h): a dump request, answers
whose CTA_TUPLE_ORIG holds addresses and protocol (CTA_ZONE their zone),
and a delete that sends that same CTA_TUPLE_ORIG back with the zone.

nf_tables: the ruleset generation id (NFT_MSG_GETGEN), which the kernel
bumps on every commit to any table of the namespace: while it stays what
it was after the firewall's own last commit, nobody changed anything.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import struct
from typing import Iterator

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 0x8000
NFNL_SUBSYS_CTNETLINK, NFNL_SUBSYS_NFTABLES = 1, 10
NFT_MSG_GETGEN, NFTA_GEN_ID = 16, 1
IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE = 1, 2
CTA_TUPLE_ORIG, CTA_ZONE = 1, 18
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST = 1, 2, 3, 4
CTA_PROTO_NUM = 1


@dataclasses.dataclass(frozen=True)
class Flow:
    """One conntrack entry: its original direction, and the raw
    CTA_TUPLE_ORIG attribute that names it in a delete."""
    proto: int
    src: str
    dst: str
    zone: int
    tuple_attr: bytes


def _attrs(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(type without flags, payload, the whole attribute) of each NLA."""
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, at)
        if length < 4:
            return
        yield kind & 0x3fff, data[at + 4:at + length], data[at:at + length]
        at += (length + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + \
        b'\0' * (((length + 3) & ~3) - length)


class Netfilter:
    """An nfnetlink socket (in the calling thread's namespace)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def _send(self, msg_type: int, flags: int, family: int,
              body: bytes, subsystem: int = NFNL_SUBSYS_CTNETLINK) -> int:
        self.seq += 1
        nfgen = struct.pack('=BBH', family, 0, 0)
        header = struct.pack('=IHHII', 16 + len(nfgen) + len(body),
                             (subsystem << 8) | msg_type,
                             NLM_F_REQUEST | flags, self.seq, 0)
        self.sock.send(header + nfgen + body)
        return self.seq

    def _replies(self) -> Iterator[tuple[int, bytes]]:
        """(type, payload after the nfgenmsg) until DONE or an ack."""
        while True:
            data = self.sock.recv(1 << 20)
            at = 0
            while at + 16 <= len(data):
                length, kind, _, _, _ = struct.unpack_from('=IHHII', data, at)
                payload = data[at + 16:at + length]
                at += (length + 3) & ~3
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from('=i', payload)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return
                yield kind, payload[4:]

    def generation(self) -> int:
        """The nf_tables ruleset generation id."""
        self._send(NFT_MSG_GETGEN, NLM_F_ACK, socket.AF_UNSPEC, b'',
                   NFNL_SUBSYS_NFTABLES)
        found = -1
        for _, payload in self._replies():
            for kind, value, _ in _attrs(payload):
                if kind == NFTA_GEN_ID:
                    found = struct.unpack('!I', value[:4])[0]
        return found

    def flows(self, zones: set[int]) -> list[Flow]:
        """The entries of these zones, IPv4 and IPv6 (one walk of the
        kernel's table, whose cost is its bucket count, however few
        entries match; the host's own flows, zone 0, are skipped before
        they are decoded)."""
        self._send(IPCTNL_MSG_CT_GET, NLM_F_DUMP, socket.AF_UNSPEC, b'')
        found = []
        for _, payload in self._replies():
            flow = _flow(payload, zones)
            if flow is not None:
                found.append(flow)
        return found

    def delete(self, flow: Flow) -> bool:
        """Delete one entry; False if it was already gone."""
        family = socket.AF_INET6 if ':' in flow.src else socket.AF_INET
        self._send(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family,
                   flow.tuple_attr + _attr(CTA_ZONE,
                                           struct.pack('!H', flow.zone)))
        try:
            for _ in self._replies():
                pass
        except FileNotFoundError:
            return False
        return True


def _flow(payload: bytes, zones: set[int]) -> Flow | None:
    zone, orig = 0, None
    for kind, value, whole in _attrs(payload):
        if kind == CTA_ZONE:
            zone = struct.unpack('!H', value[:2])[0]
        elif kind == CTA_TUPLE_ORIG:
            orig = (value, whole)
    if orig is None or zone not in zones:
        return None
    src = dst = ''
    proto = 0
    for kind, value, _ in _attrs(orig[0]):
        if kind == CTA_TUPLE_IP:
            for ip_kind, address, _ in _attrs(value):
                text = str(ipaddress.ip_address(address))
                if ip_kind in (CTA_IP_V4_SRC, CTA_IP_V6_SRC):
                    src = text
                elif ip_kind in (CTA_IP_V4_DST, CTA_IP_V6_DST):
                    dst = text
        elif kind == CTA_TUPLE_PROTO:
            for proto_kind, value2, _ in _attrs(value):
                if proto_kind == CTA_PROTO_NUM:
                    proto = value2[0]
    return Flow(proto, src, dst, zone, orig[1])
