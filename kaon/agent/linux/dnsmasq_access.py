"""Who dnsmasq runs as, and whether it really reads what kaon gives it.

dnsmasq starts as root and then drops to a user (`--user`; Debian builds
default to `nobody`, and ship a `dnsmasq` system user) and a group
(`--group`), clearing its supplementary groups.  It adds its inotify
watches on --dhcp-hostsdir/--hostsdir/--dhcp-optsdir after that, and only
once (a failed watch is never retried, a replaced directory never
re-watched): if that user cannot traverse the path it does not serve the
files, keeps running and says nothing.

kaon's choice: dnsmasq runs as `dnsmasq_user`/`dnsmasq_group` (the
`dnsmasq` user if it exists, else `nobody`; that user's group), and kaon's
DHCP tree is group-owned by that group, directories 0750 and files 0640:
dnsmasq reads them, other users do not.  What kaon does not own -- the
ancestors of `dhcp_confs` -- it does not change: when one of them is not
traversable by that user and group (a `mktemp -d` parent is 0700),
dnsmasq keeps root (`--user=root`) and a warning says which directory and
how to avoid it.  Then `unwatched()` proves it at enable time and on every
check: dnsmasq's inotify fd watches each of the three directories.
"""
from __future__ import annotations

import dataclasses
import functools
import grp
import logging
import os
import pwd
import stat
import time
from typing import Any

from kaon.agent.linux import inotify
from kaon.agent.linux.dhcp import DhcpServeError
from kaon.agent.linux.dnsmasq_tree import DIR_MODE

LOG = logging.getLogger(__name__)

_DEFAULT_USERS = ('dnsmasq', 'nobody')


@dataclasses.dataclass(frozen=True)
class RunAs:
    user: str            # --user (root: dnsmasq keeps its privileges)
    group: str           # --group
    gid: int | None      # group of kaon's dnsmasq files (None: not root)
    blocked: str | None  # why dnsmasq keeps root


@functools.lru_cache(maxsize=8)
def _account(user: str, group: str) -> tuple[str, int, str, int]:
    """(user, uid, group, gid) for dnsmasq_user / dnsmasq_group ('' for
    the defaults); looked up once per process, not on every check.
    :raises DhcpServeError: an unknown user or group."""
    try:
        entry = pwd.getpwnam(user or _default_user())
        found = grp.getgrnam(group) if group else grp.getgrgid(entry.pw_gid)
    except KeyError as err:
        raise DhcpServeError(f'dnsmasq_user / dnsmasq_group: {err}') from None
    return entry.pw_name, entry.pw_uid, found.gr_name, found.gr_gid


def file_gid(conf: Any) -> int | None:
    """The group kaon's dnsmasq files belong to (None: kaon is not root
    and dnsmasq runs as kaon's own user)."""
    if os.geteuid() != 0:
        return None
    return _account(conf.dnsmasq_user, conf.dnsmasq_group)[3]


def resolve(conf: Any, dhcp_confs: str) -> RunAs:
    """The user and group dnsmasq runs as for files under `dhcp_confs`
    (which must exist)."""
    if os.geteuid() != 0:        # dnsmasq cannot change user: it runs as us
        return RunAs(pwd.getpwuid(os.geteuid()).pw_name,
                     grp.getgrgid(os.getegid()).gr_name, None, None)
    user, uid, group, gid = _account(conf.dnsmasq_user, conf.dnsmasq_group)
    blocker = untraversable(dhcp_confs, uid, gid)
    if blocker is None or uid == 0:
        return RunAs(user, group, gid, None)
    return RunAs('root', group, gid,
                 f'{blocker} is not searchable by user {user} '
                 f'(group {group})')


_warned: set[str] = set()
SEARCH = stat.S_IXGRP | stat.S_IXOTH


def prepare(conf: Any, dhcp_confs: str) -> RunAs:
    """resolve(), with `dhcp_confs` made, 0750 and dnsmasq's group, and a
    warning (once per reason) when dnsmasq has to keep root."""
    os.makedirs(dhcp_confs, exist_ok=True)
    _let_through_state_path(conf.state_path, dhcp_confs)
    run_as = resolve(conf, dhcp_confs)
    st = os.stat(dhcp_confs)
    if run_as.gid is not None and \
            (st.st_gid, stat.S_IMODE(st.st_mode)) != (run_as.gid, DIR_MODE):
        os.chown(dhcp_confs, -1, run_as.gid)
        os.chmod(dhcp_confs, DIR_MODE)
    if run_as.blocked and run_as.blocked not in _warned:
        _warned.add(run_as.blocked)
        LOG.warning('dnsmasq keeps root privileges (--user=root): %s, so '
                    'it could not read its files as that user. To let it '
                    'drop them, make every directory above %s searchable '
                    'by that user (chmod o+x, or its group), or move '
                    'state_path/dhcp_confs', run_as.blocked, dhcp_confs)
    return run_as


def _let_through_state_path(state_path: str, dhcp_confs: str) -> None:
    """state_path is kaon's own directory: a dnsmasq that drops root must
    pass through it to reach dhcp_confs, so it gets the search bits kaon
    gives a state dir it creates (kaon.state_files: 0711, searchable but
    never readable by others).  The directories above it are the
    operator's and are never changed."""
    state = os.path.abspath(state_path)
    if os.geteuid() != 0 or os.path.dirname(
            os.path.abspath(dhcp_confs)) != state:
        return
    mode = stat.S_IMODE(os.stat(state).st_mode)
    wanted = mode | SEARCH
    if mode != wanted:
        os.chmod(state, wanted)
        LOG.info('Made %s searchable (%04o -> %04o): dnsmasq passes '
                 'through it to its files', state, mode, wanted)


def _default_user() -> str:
    for name in _DEFAULT_USERS:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return 'root'


def untraversable(path: str, uid: int, gid: int) -> str | None:
    """The first ancestor of `path` (not `path` itself, which kaon owns)
    that `uid`/`gid` may not search, from the mode bits of the class the
    user falls in (owner, group, others).  ACLs are not read: a directory
    searchable only through an ACL counts as not searchable."""
    parts = os.path.abspath(path).split(os.sep)[1:-1]
    current = os.sep
    for part in [''] + parts:
        current = os.path.join(current, part)
        st = os.stat(current)
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return current
    return None


def _kernel_dev(st_dev: int) -> int:
    """/proc/<pid>/fdinfo prints the kernel's dev_t (major << 20 | minor),
    stat() the userspace encoding."""
    return os.major(st_dev) << 20 | os.minor(st_dev)


def watched(pid: int) -> set[tuple[int, int]]:
    """(dev, inode) of everything the process's inotify fds watch; each
    watch is a line `inotify wd:1 ino:1a2b sdev:800001 mask:...` (hex)."""
    found: set[tuple[int, int]] = set()
    for lines in inotify.watch_lines(pid):
        for line in lines:
            fields = dict(f.split(':', 1) for f in line.split()[1:]
                          if ':' in f)
            found.add((int(fields['sdev'], 16), int(fields['ino'], 16)))
    return found


def unwatched(pid: int | None, directories: list[str]) -> list[str]:
    """The directories the process has no inotify watch on (all of them
    when there is no process)."""
    have = watched(pid) if pid is not None else set()
    missing = []
    for directory in directories:
        try:
            st = os.stat(directory)
        except OSError:
            missing.append(directory)
            continue
        if (_kernel_dev(st.st_dev), st.st_ino) not in have:
            missing.append(directory)
    return missing


def wait_watched(pid: int | None, directories: list[str],
                 timeout: float = 2.0) -> list[str]:
    """unwatched(), given a just-started dnsmasq the time to add its
    watches (it does so right after it has dropped privileges)."""
    deadline = time.monotonic() + timeout
    missing = unwatched(pid, directories)
    while missing and time.monotonic() < deadline:
        time.sleep(0.01)
        missing = unwatched(pid, directories)
    return missing
