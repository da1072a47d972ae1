"""Which taps this host has, and the moment that changes.

A tap is a link named like kaon.naming.tap in the agent's network
namespace.  New ones are seen from netlink link events (RTNLGRP_LINK):
a tap is wired milliseconds after it appears instead of at the next
poll; the periodic full rescan (one link dump) is the safety net for
events lost (a netlink socket whose buffer overflowed says ENOBUFS, and
that is reported too, as a wish for a rescan).
"""
from __future__ import annotations

import logging
import select
import socket
import threading
from typing import Callable

from pyroute2.netlink.rtnl import RTMGRP_LINK
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from kaon import naming
from kaon.agent.linux.ip_lib import Link

LOG = logging.getLogger(__name__)
# How often the listener looks at its stop flag while no event comes.
STOP_CHECK = 0.5
# One netlink datagram holds whole messages; 1 MiB holds any dump part.
RECV_SIZE = 1 << 20


def taps(links: dict[str, Link]) -> dict[str, Link]:
    """The taps among `links` (kaon.agent.linux.ip_lib.links())."""
    return {name: link for name, link in links.items()
            if name.startswith(naming.TAP_PREFIX)}


class TapEvents:
    """A thread on a netlink socket bound to link events: `on_tap(name,
    present)` for each event of a tap, `on_lost()` when events may have
    been lost.  start() returns once it listens, so a scan made after it
    misses nothing."""

    def __init__(self, on_tap: Callable[[str, bool], None],
                 on_lost: Callable[[], None]) -> None:
        self.on_tap = on_tap
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='l2-link-events')

    def start(self) -> TapEvents:
        self._thread.start()
        self._ready.wait()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # A plain netlink socket, parsed by pyroute2's marshal: pyroute2's
        # own sockets read ahead into an asyncio buffer, so select() on
        # them can miss events that are already read (seen: a tap plugged
        # right after another was never reported).
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                           socket.NETLINK_ROUTE) as sock:
            sock.bind((0, RTMGRP_LINK))
            self._ready.set()
            marshal = MarshalRtnl()
            while not self._stop.is_set():
                readable, _, _ = select.select([sock], [], [], STOP_CHECK)
                if readable:
                    self._read(sock, marshal)

    def _read(self, sock: socket.socket, marshal: MarshalRtnl) -> None:
        try:
            data = sock.recv(RECV_SIZE)
        except OSError as err:     # ENOBUFS: the kernel dropped events
            LOG.warning('link events lost (%s); rescanning', err)
            self.on_lost()
            return
        for msg in marshal.parse(data):
            name = msg.get('ifname')
            if name and name.startswith(naming.TAP_PREFIX):
                self.on_tap(name, msg['event'] == 'RTM_NEWLINK')
