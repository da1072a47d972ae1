"""Which of kaon's dnsmasq directories changed since they were last checked.

The periodic check must stay cheap at scale (100 networks x 100 ports is
20,000 files: one lstat each is ~0.1-0.2 s of CPU per pass).  So the agent
watches the directories itself, with ONE inotify instance for all networks
(each dnsmasq has its own; the per-user limit counts instances, and this
adds one): a directory is scanned only when something happened in it --
a file written, appended to, chmod'ed, created, deleted or renamed, or the
directory itself removed.  kaon's own writes mark it too; the scan then
finds the stat it recorded and moves on.

A directory that cannot be watched (limits, a race with its removal) and
an event queue that overflowed count as changed: the check falls back to
scanning, never to trusting.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
import struct
import threading

LOG = logging.getLogger(__name__)

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED = 0x4000, 0x8000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
        IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
_EVENT = struct.Struct('iIII')      # wd, mask, cookie, len (+ name)


class Watcher:
    """Directories (by path) -> changed since `take()`?"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: dict[int, str] = {}     # wd -> path
        self._wds: dict[str, int] = {}       # path -> wd
        self._changed: set[str] = set()
        self._overflow = False
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            LOG.warning('No inotify for the DHCP file check (%s): every '
                        'check scans every file',
                        os.strerror(ctypes.get_errno()))

    def changed(self, path: str) -> bool:
        """Did anything happen in `path` since the last call for it?  The
        first call (and any call while it is not watched) says yes; each
        call (re)arms the watch, before the caller scans."""
        with self._lock:
            self._drain()
            if self._overflow:
                self._overflow = False
                self._changed |= set(self._wds)
            if path not in self._wds:
                self._watch(path)
                return True
            if path in self._changed:
                self._changed.discard(path)
                return True
            return False

    def _watch(self, path: str) -> None:
        if self._fd < 0:
            return
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), MASK)
        if wd < 0:
            LOG.warning('Cannot watch %s for the DHCP file check (%s): it '
                        'is scanned on every check', path,
                        os.strerror(ctypes.get_errno()))
            return
        self._paths[wd] = path
        self._wds[path] = wd

    def _drain(self) -> None:
        while self._fd >= 0:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError as err:
                if err.errno == errno.EINTR:
                    continue
                raise
            self._parse(data)

    def _parse(self, data: bytes) -> None:
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size + length
            if mask & IN_Q_OVERFLOW:
                self._overflow = True
                continue
            path = self._paths.get(wd)
            if path is None:
                continue
            self._changed.add(path)
            if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):
                # The directory went (or moved): watch the path afresh.
                self._paths.pop(wd, None)
                if self._wds.get(path) == wd:
                    del self._wds[path]


_watcher: Watcher | None = None
_watcher_lock = threading.Lock()


def watcher() -> Watcher:
    """The agent's one watcher, made on first use."""
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = Watcher()
        return _watcher
