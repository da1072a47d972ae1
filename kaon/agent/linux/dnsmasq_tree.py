"""One network's directory of dnsmasq files: what kaon put there, and
whether the disk still holds exactly that.

Every file kaon writes for dnsmasq goes through `Tree.sync`, which records
its bytes (`expected`) and the stat of the file as written (`seen`).  So
the tree knows exactly which files the network needs, with which bytes,
and `check()` can compare with the disk cheaply: only directories an
inotify watch saw change are scanned (dnsmasq_watch), a scan is one
`lstat` per file, and a file is only read when its stat changed (an inode,
size, mtime or ctime that differs means someone else touched it).  It
repairs missing, extra, corrupt and foreign files (a symlink, a directory,
another owner or mode), and never raises on what it reads: bytes are
compared, not decoded.

Modes: directories 0750 and files 0640, group-owned by the group dnsmasq
runs as (see dnsmasq_access), so dnsmasq reads them and others do not.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import stat

from kaon.agent.linux import dnsmasq_watch

KINDS = ('host', 'addn_hosts', 'opts')
DIR_MODE = 0o750
FILE_MODE = 0o640
LEASES = 'leases'
_UUID_LEN = 36


@dataclasses.dataclass(frozen=True)
class Repair:
    text: str
    reload: bool     # dnsmasq may hold what was wrong: it must re-read


def _signature(st: os.stat_result) -> tuple[int, ...]:
    """Any write, chmod, chown or rename of a file changes its ctime (which
    userspace cannot set back); the inode changes when it is replaced.
    Size and mtime catch a same-tick write with a coarse clock."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class Tree:
    """`root`/{host,addn_hosts,opts}/<port id>, `root`/interface, ...;
    files group-owned by `gid` (None: kaon is not root, leave groups)."""

    def __init__(self, root: str, gid: int | None) -> None:
        self.root = root
        self.gid = gid
        self.expected: dict[str, bytes] = {}
        self.seen: dict[str, tuple[int, ...]] = {}
        # expected covers the whole network (a full reconcile recorded it);
        # before that, check() would take every file for an extra one.
        self.complete = False

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    # -- writing -----------------------------------------------------------
    def ensure_dirs(self) -> list[Repair]:
        repairs = []
        for rel in ('',) + KINDS:
            repair = self._ensure_dir(rel)
            if repair:
                repairs.append(repair)
        return repairs

    def _ensure_dir(self, rel: str) -> Repair | None:
        path = self.path(rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            st = None
        if st is None:
            os.makedirs(path, exist_ok=True)
            self._own(path, DIR_MODE)
            return Repair(f'created directory {rel or "."}', False) \
                if rel else None
        if self._owned(st, DIR_MODE):
            return None
        self._own(path, DIR_MODE)
        return Repair(f'fixed owner and mode of directory {rel or "."}',
                      False)

    def _owned(self, st: os.stat_result, mode: int) -> bool:
        return (stat.S_IMODE(st.st_mode) == mode and
                st.st_uid == os.geteuid() and
                (self.gid is None or st.st_gid == self.gid))

    def _own(self, path: str, mode: int) -> None:
        if self.gid is not None:
            os.chown(path, -1, self.gid)
        os.chmod(path, mode)

    def write(self, rel: str, data: bytes) -> os.stat_result:
        """Atomically: a temporary file, then rename over the target.

        dnsmasq's inotify handler ignores names starting with a dot, and
        the rename is one IN_MOVED_TO event, so dnsmasq never reads a
        half-written file.
        """
        path = self.path(rel)
        directory, name = os.path.split(path)
        tmp = os.path.join(directory, f'.{name}.tmp')
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     os.O_NOFOLLOW, FILE_MODE)
        try:
            if self.gid is not None:
                os.fchown(fd, -1, self.gid)
            os.fchmod(fd, FILE_MODE)        # whatever the umask
            os.write(fd, data)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except IsADirectoryError:       # someone put a directory there
            shutil.rmtree(path)
            os.replace(tmp, path)
        return os.lstat(path)

    def sync(self, rel: str, content: str) -> str | None:
        """Make `rel` hold `content` (and record it) unless it already does.
        Returns the old content, None if there was no file (an empty
        content creates none)."""
        data = content.encode()
        before, st = self._read(rel)
        if before is None and not data:
            self.forget(rel)
            return None
        if before != data or st is None or not self._owned(st, FILE_MODE):
            st = self.write(rel, data)
        self.expected[rel] = data
        self.seen[rel] = _signature(st)
        return None if before is None else before.decode(errors='replace')

    def remove(self, rel: str) -> None:
        self.forget(rel)
        try:
            os.unlink(self.path(rel))
        except FileNotFoundError:
            pass

    def forget(self, rel: str) -> None:
        self.expected.pop(rel, None)
        self.seen.pop(rel, None)

    # -- reading -----------------------------------------------------------
    def _read(self, rel: str, limit: int = -1
              ) -> tuple[bytes | None, os.stat_result | None]:
        """Bytes and stat of a regular file; (None, None) when missing and
        (b'', stat) when not a regular file: never follows a symlink, never
        blocks on a FIFO, never decodes."""
        try:
            fd = os.open(self.path(rel), os.O_RDONLY | os.O_NOFOLLOW |
                         os.O_NONBLOCK)
        except FileNotFoundError:
            return None, None
        except OSError:             # a symlink (ELOOP), ...
            return b'', None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return b'', None
            chunks = []
            while limit:
                chunk = os.read(fd, 65536 if limit < 0 else limit)
                if not chunk:
                    break
                chunks.append(chunk)
                limit = max(limit - len(chunk), 0) if limit > 0 else limit
            return b''.join(chunks), st
        finally:
            os.close(fd)

    def read(self, rel: str) -> str:
        """The file as text ('' if missing); bytes that are not UTF-8 are
        replaced, so a corrupt file can be read back, never raise."""
        data, _ = self._read(rel)
        return (data or b'').decode(errors='replace')

    def names(self, kind: str) -> set[str]:
        """Port ids with a file of this kind on disk."""
        try:
            return {n for n in os.listdir(self.path(kind))
                    if len(n) == _UUID_LEN and not n.startswith('.')}
        except FileNotFoundError:
            return set()

    # -- checking ----------------------------------------------------------
    def check(self) -> list[Repair]:
        """Compare the disk with `expected` and repair it; [] when the
        disk was right (then nothing was written).  The directories are
        ensure_dirs()'s, which the caller runs first.

        The agent runs this for every network every few seconds, so a
        directory nothing happened in is not scanned (dnsmasq_watch), and a
        scan costs one lstat (relative to the directory's fd) and one tuple
        compare per file; reading a file is the slow path.
        """
        repairs: list[Repair | None] = []
        for kind in KINDS:
            if not dnsmasq_watch.watcher().changed(self.path(kind)):
                continue                # nothing happened in there
            fd = os.open(self.path(kind), os.O_RDONLY | os.O_DIRECTORY)
            try:
                found = self._scan(kind, fd, repairs)
            finally:
                os.close(fd)
            self._restore_missing(kind, found, repairs)
        for rel in [r for r in self.expected if '/' not in r]:
            if os.path.lexists(self.path(rel)):     # kaon's files in root
                repairs.append(self._check_file(rel, os.lstat(self.path(rel))))
            else:
                self._restore(rel, repairs)
        return [r for r in repairs if r is not None] + self._check_leases()

    def _restore_missing(self, kind: str, found: int,
                         repairs: list[Repair | None]) -> None:
        wanted = [r for r in self.expected if r.startswith(kind + '/')]
        if found != len(wanted):
            for rel in sorted(wanted):
                if not os.path.lexists(self.path(rel)):
                    self._restore(rel, repairs)

    def _restore(self, rel: str, repairs: list[Repair | None]) -> None:
        self.seen[rel] = _signature(self.write(rel, self.expected[rel]))
        repairs.append(Repair(f'restored missing {rel}', False))

    def _scan(self, kind: str, fd: int, repairs: list[Repair | None]
              ) -> int:
        """Check one directory's entries; returns how many expected files
        are there (repaired or not)."""
        seen, prefix, found = self.seen, kind + '/', 0
        with os.scandir(fd) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if rel not in self.expected:
                    self._delete(self.path(rel), entry)
                    # dnsmasq ignores dot files: it need not re-read.
                    repairs.append(Repair(f'removed extra {rel}',
                                          not entry.name.startswith('.')))
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue            # gone meanwhile: restored after
                found += 1
                if seen.get(rel) != _signature(st):
                    repairs.append(self._check_file(rel, st))
        return found

    def _check_file(self, rel: str, st: os.stat_result) -> Repair | None:
        """Read only when the stat differs from the one recorded."""
        want = self.expected[rel]
        if self.seen.get(rel) == _signature(st):
            return None
        if self._owned(st, FILE_MODE) and stat.S_ISREG(st.st_mode):
            data, now = self._read(rel, len(want) + 1)
            if data == want and now is not None:
                self.seen[rel] = _signature(now)
                return None
        what = 'corrupt' if stat.S_ISREG(st.st_mode) else 'foreign'
        self.seen[rel] = _signature(self.write(rel, want))
        return Repair(f'rewrote {what} {rel}', True)

    @staticmethod
    def _delete(path: str, entry: os.DirEntry[str]) -> None:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _check_leases(self) -> list[Repair]:
        """The lease file is dnsmasq's, its mode kaon's: never readable by
        others (it names every client)."""
        path = self.path(LEASES)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return []
        if not stat.S_ISREG(st.st_mode) or self._owned(st, FILE_MODE):
            return []
        self._own(path, FILE_MODE)
        return [Repair(f'fixed owner and mode of {LEASES}', False)]
