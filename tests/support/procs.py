"""The processes tests start: private servers, and finding processes by
what they name."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Any, TypeVar

_Server = TypeVar('_Server', bound='PrivateServer')


def end_process_group(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then (after `timeout`, or at once if it is gone) SIGKILL to
    the process's whole group: the server's children go with it.  Reaped.
    The process must lead its own group (start_new_session=True)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class PrivateServer:
    """A throwaway server a test starts in a directory of its own (`root`).

    A start that fails half-way stops what it started and removes the
    directory, as leaving the context manager does."""
    root: str | None = None

    def _path(self, *parts: str) -> str:
        assert self.root
        return os.path.join(self.root, *parts)

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start(self: _Server) -> _Server:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop everything and remove the directory."""
        try:
            self.stop()
        finally:
            if self.root:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def processes_naming(marker: str) -> list[int]:
    """Processes (not this one) whose command line mentions `marker`:
    a detached kaon up, its dnsmasqs, the VMs' udhcpc clients."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if any(marker in arg for arg in argv):
            found.append(int(entry))
    return found
