"""Modes of kaon's own state: nobody but root reads the database, the log
or the VM records.

The state directory is made traversable but not listable or readable by
others (0711): dnsmasq, which drops privileges to an unprivileged user,
must still reach its files under <state_path>/dhcp (whose modes the DHCP
agent manages), while nobody else can list or read the rest.  Each file
kaon keeps to itself is created 0600 and each such directory 0700.

Modes are set explicitly rather than by a process umask: `kaon up` and
`kaon server --dhcp-agent` run the agent in the same process, and the
files it writes for dnsmasq must stay readable by dnsmasq's user.

Files an older kaon created readable by others (0644 in 0755) are
tightened when kaon next starts, with a warning saying so.
"""
from __future__ import annotations

import logging
import os
import stat
from typing import IO

LOG = logging.getLogger(__name__)

STATE_DIR_MODE = 0o711
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _tighten(path: str, allowed: int) -> None:
    """Take away every permission bit `allowed` does not have; never add
    one (an operator's 0700 stays 0700)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & ~allowed:
        os.chmod(path, mode & allowed)
        LOG.warning('%s was mode %04o, readable by others: now %04o',
                    path, mode, mode & allowed)


def state_dir(path: str) -> str:
    """Create (0711) or tighten the state directory; returns `path`."""
    os.makedirs(path, mode=STATE_DIR_MODE, exist_ok=True)
    _tighten(path, STATE_DIR_MODE)
    return path


def private_dir(path: str) -> str:
    """Create (0700) or tighten a directory of root's own; returns it."""
    os.makedirs(path, mode=PRIVATE_DIR_MODE, exist_ok=True)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: str) -> None:
    """Create an empty 0600 file if missing, or tighten an existing one
    (e.g. a SQLite database before SQLite opens it: SQLite gives its WAL
    and shared-memory files the mode of the database)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    _tighten(path, PRIVATE_FILE_MODE)


def open_private_log(path: str) -> IO[str]:
    """`path` opened for appending, 0600 whoever made it."""
    private_file(path)
    return open(path, 'a')
