"""Room on this host for one more inotify user (a dnsmasq).

Every dnsmasq creates one inotify instance at start (it watches its
--dhcp-hostsdir, --hostsdir and --dhcp-optsdir) and a few watches.  The
kernel counts instances per user against fs.inotify.max_user_instances,
whose default is 128; dnsmasq creates its instance as root, before it drops
privileges.  Past the limit a new dnsmasq exits at once with "failed to
create inotify: Too many open files" (exit code 5).

So before it starts a dnsmasq the agent claims room here.  When the limit
leaves too little, it is raised (as root, by writing /proc/sys/fs/inotify/*)
to what is in use plus what is asked plus headroom, and the log says so;
when it cannot be raised (not root, a read-only /proc/sys) the claim fails
with a reason the agent shows as the network's status.  Counting what is in
use means reading every process's fds, so that is done only when the room
counted down since the last look runs out (keeping a reserve for what
others start meanwhile), not once per dnsmasq.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Callable, Iterator

LOG = logging.getLogger(__name__)

SYSCTL_DIR = '/proc/sys/fs/inotify'
INSTANCES = 'max_user_instances'
WATCHES = 'max_user_watches'
# What one dnsmasq may watch (its three directories, and inotify watches
# resolv.conf's directory too when it reads one), with some slack.
WATCHES_PER_INSTANCE = 8
# Raised limits leave room for this many more (at least), so that a
# growing agent does not raise them one network at a time.
MIN_HEADROOM = 128
# Instances kept free between two looks at usage, for what others (another
# agent on the host, inotify users of root) start meanwhile: the limits are
# raised before less than this is left.
RESERVE = 32


class HostLimitError(RuntimeError):
    """This host cannot run one more dnsmasq; str() says which limit."""


@dataclasses.dataclass(frozen=True)
class Usage:
    instances: int
    watches: int


def watch_lines(pid: str | int, proc: str = '/proc'
                ) -> Iterator[list[str]]:
    """For each inotify instance the process holds, its watches: the
    `inotify wd:1 ino:1a2b sdev:800001 mask:...` lines of its fdinfo.  A
    process gone or not ours to read holds none."""
    fd_dir = os.path.join(proc, str(pid), 'fd')
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return
    for fd in fds:
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != 'anon_inode:inotify':
                continue
            with open(os.path.join(proc, str(pid), 'fdinfo', fd)) as f:
                lines = [line for line in f if line.startswith('inotify ')]
        except OSError:
            continue
        yield lines


def inotify_usage(proc: str = '/proc') -> Usage:
    """Inotify instances and watches open on the host (every user's: an
    over-count for root's share, never an under-count)."""
    instances = watches = 0
    for pid in os.listdir(proc):
        if pid.isdigit():
            for lines in watch_lines(pid, proc):
                instances += 1
                watches += len(lines)
    return Usage(instances, watches)


class InotifyLimits:
    """Claims of inotify instances against the host's limits."""

    def __init__(self, sysctl_dir: str = SYSCTL_DIR,
                 usage: Callable[[], Usage] = inotify_usage) -> None:
        self.sysctl_dir = sysctl_dir
        self.usage = usage
        self._room = 0          # claims left before looking again
        self._refusal = ''
        self._cannot_raise: set[str] = set()   # logged once, until raised
        self._lock = threading.Lock()

    def read(self, name: str) -> int:
        with open(os.path.join(self.sysctl_dir, name)) as f:
            return int(f.read())

    def _write(self, name: str, value: int) -> None:
        with open(os.path.join(self.sysctl_dir, name), 'w') as f:
            f.write(f'{value}\n')

    def claim(self, count: int = 1) -> None:
        """Make sure `count` more dnsmasqs can start, raising the limits
        if needed; HostLimitError if they cannot start."""
        with self._lock:
            self._ensure_room(count)
            if self._room < count:
                raise HostLimitError(self._refusal)
            self._room -= count

    def prepare(self, count: int) -> None:
        """Before starting `count` dnsmasqs (an agent's first sync): raise
        the limits once for all of them; claims follow one by one."""
        with self._lock:
            self._ensure_room(count)

    def _ensure_room(self, count: int) -> None:
        if self._room < count:
            self._room = self._make_room(count)

    def _make_room(self, count: int) -> int:
        """Look at usage and limits, raise them if they would leave less
        than the reserve after `count` more; the claims there is room for
        before the next look (the reserve only when nothing else is left)."""
        used = self.usage()
        wanted = used.instances + count
        target = wanted + max(MIN_HEADROOM, wanted // 4)
        instances = self._raise(INSTANCES, self.read(INSTANCES),
                                wanted + RESERVE, target)
        self._raise(WATCHES, self.read(WATCHES),
                    used.watches + (count + RESERVE) * WATCHES_PER_INSTANCE,
                    used.watches + (target - used.instances) *
                    WATCHES_PER_INSTANCE)
        self._refusal = (
            f'host limit: fs.inotify.{INSTANCES} is {instances} with '
            f'{used.instances} inotify instances in use, and could not be '
            f'raised; every dnsmasq needs one (raise it with sysctl)')
        free = instances - used.instances
        return free - RESERVE if free - RESERVE >= count else free

    def _raise(self, name: str, limit: int, needed: int, target: int) -> int:
        """The limit after raising it to `target` if it is below `needed`."""
        if limit >= needed:
            return limit
        try:
            self._write(name, target)
        except OSError as err:
            if name not in self._cannot_raise:
                self._cannot_raise.add(name)
                LOG.error('fs.inotify.%s is %d, %d needed, and it cannot be '
                          'raised (%s): networks beyond it will be refused',
                          name, limit, needed, err)
            return limit
        self._cannot_raise.discard(name)
        LOG.warning('Raised fs.inotify.%s from %d to %d (%d needed by the '
                    'dnsmasqs of this host, and headroom)', name, limit,
                    target, needed)
        return target
