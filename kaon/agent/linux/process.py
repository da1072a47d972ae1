"""Long-running helper processes (dnsmasq): spawn, find, stop, respawn.

A process is identified by its pid file *and* its command line: a pid file
can outlive its process and the kernel reuses pids, so a pid only counts as
"ours" when /proc/<pid>/cmdline names the expected program and carries the
owner's uuid (the network id is in every dnsmasq path argument).  That is
what lets a restarted agent adopt the dnsmasq processes it left running.

Processes run in the foreground as children of the agent (dnsmasq
--keep-in-foreground), in their own session so that a signal to the agent's
terminal does not reach them.  Being the parent lets the agent reap them:
a killed daemonised process would be re-parented to PID 1, and an init that
does not reap orphans (a container's) would keep it as a zombie forever.
Processes that outlive the agent keep running and are adopted later.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any, Callable

from kaon.agent.backoff import Backoff, Streak

LOG = logging.getLogger(__name__)



class ProcessError(RuntimeError):
    """A process could not be started."""


class Children:
    """The processes one agent spawned, and their locks: one instance per
    agent (its DHCP backend), shared by every ProcessManager it makes.

    Children are kept by pid, to reap them when found dead.  One lock per
    pid file is shared by every ProcessManager of that process: a restart
    (stop + start) must not race a respawn by the monitor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._pid_file_locks: dict[str, threading.RLock] = {}

    def lock_for(self, pid_file: str) -> threading.RLock:
        with self._lock:
            return self._pid_file_locks.setdefault(pid_file,
                                                   threading.RLock())

    def add(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._children[child.pid] = child

    def reap(self, pid: int) -> None:
        """Collect the exit status of our own child `pid`, if it exited."""
        with self._lock:
            child = self._children.get(pid)
            if child is not None and child.poll() is not None:
                del self._children[pid]


def read_cmdline(pid: int) -> list[str]:
    """argv of a live process; [] if gone or a zombie."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode(errors='replace') for a in raw.split(b'\0') if a]


class ProcessManager:
    """One helper process, found through its pid file."""

    def __init__(self, uuid: str, pid_file: str,
                 cmd_callback: Callable[[str], list[str]],
                 namespace: str | None = None, service: str = 'dnsmasq',
                 start_timeout: float = 10.0,
                 children: Children | None = None) -> None:
        """`children`: the agent's (a private one when None)."""
        self.uuid = uuid
        self.pid_file = pid_file
        self.cmd_callback = cmd_callback
        self.namespace = namespace
        self.service = service
        self.start_timeout = start_timeout
        self.children = children or Children()
        self.lock = self.children.lock_for(pid_file)

    @property
    def pid(self) -> int | None:
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def cmdline(self) -> list[str]:
        """The running process's argv ([] unless it is ours and alive)."""
        pid = self.pid
        return [] if pid is None else self._argv_if_ours(pid)

    def _argv_if_ours(self, pid: int) -> list[str]:
        self.children.reap(pid)
        argv = read_cmdline(pid)
        if not argv or os.path.basename(argv[0]) != self.service:
            return []
        if not any(self.uuid in arg for arg in argv[1:]):
            return []
        return argv

    @property
    def active(self) -> bool:
        return bool(self.cmdline())

    def enable(self) -> None:
        """Start the process unless it already runs."""
        with self.lock:
            if not self.active:
                self.spawn()

    def spawn(self, argv: list[str] | None = None) -> int:
        """Start the process (`argv`, or the callback's command) and wait
        until it wrote its pid file.

        The pid file is written only after the process has bound its
        sockets, so once it names the child, the process is serving.
        """
        cmd = argv or self.cmd_callback(self.pid_file)
        if self.namespace:
            cmd = ['ip', 'netns', 'exec', self.namespace] + cmd
        with self.lock:
            try:
                os.unlink(self.pid_file)
            except FileNotFoundError:
                pass
            with tempfile.TemporaryFile() as errors:
                child = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=errors, close_fds=True, start_new_session=True)
                self.children.add(child)
                self._wait_started(child, errors)
        LOG.info('Started %s for %s, pid %s', self.service, self.uuid,
                 child.pid)
        return child.pid

    def restart(self) -> bool:
        """Stop and start again with the very same command line; False
        (and nothing done) if the process is not running."""
        with self.lock:
            argv = self.cmdline()
            if not argv:
                return False
            self.disable()
            self.spawn(argv)
            return True

    def _wait_started(self, child: subprocess.Popen[bytes],
                      errors: Any) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                errors.seek(0)
                text = errors.read().decode(errors='replace').strip()
                raise ProcessError(f'{self.service} for {self.uuid} exited '
                                   f'with {child.returncode}: {text}')
            if self.pid == child.pid:
                return
            time.sleep(0.005)
        child.kill()
        child.wait()
        raise ProcessError(f'{self.service} for {self.uuid} did not start '
                           f'within {self.start_timeout} s')

    def signal(self, signum: int) -> bool:
        """Send `signum` to the process if it is ours and alive."""
        pid = self.pid
        return pid is not None and self._kill(pid, signum)

    def _kill(self, pid: int, signum: int) -> bool:
        if not self._argv_if_ours(pid):
            return False
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True

    def reload(self) -> bool:
        """SIGHUP: dnsmasq re-reads its host, addn-hosts and opts files."""
        return self.signal(signal.SIGHUP)

    def disable(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it is still there after `timeout`.

        Waits on the pid, not the pid file: dnsmasq deletes its pid file
        as it starts shutting down, before it has exited.
        """
        with self.lock:
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        pid = self.pid
        if pid is not None:
            for signum in (signal.SIGTERM, signal.SIGKILL):
                if not self._kill(pid, signum) or \
                        self._wait_gone(pid, timeout):
                    break
            else:
                LOG.error('%s pid %s for %s survived SIGKILL', self.service,
                          pid, self.uuid)
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        self.children.reap(pid)
        gone = _wait_gone(pid, timeout)
        self.children.reap(pid)
        return gone


def pid_alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may
    # itself contain spaces or parentheses.
    return stat.rsplit(')', 1)[1].split()[0] not in ('Z', 'X')


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.01)
    return not pid_alive(pid)


RespawnCallback = Callable[[str, str], None]
# A process that cannot start is tried again after 1, 2, 4 ... seconds (at
# the monitor's pace), at most every RESPAWN_BACKOFF_CAP seconds.
RESPAWN_BACKOFF_CAP = 60.0
RESPAWNED = 'died and was respawned'


class ProcessMonitor:
    """Respawn registered processes that died.

    Every `check_child_processes_interval` seconds a thread looks at each
    registered process; a dead one is started again with the same command
    (so with the same files: its configuration is intact) and the respawn
    callback is told.  An interval of 0 disables the thread.

    A process that will not stay up (it exits at start: a port in use, a
    host limit) is not respawned in a tight loop: its attempts back off
    (Backoff), each failed one is logged once with the process's own
    reason (exit code and stderr), and failing() lists it until it is seen
    running at a check.
    """

    def __init__(self, conf: Any,
                 respawn_callback: RespawnCallback | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conf = conf
        self.respawn_callback = respawn_callback
        self._processes: dict[tuple[str, str], ProcessManager] = {}
        # Re-entrant: a respawn callback may unregister or re-register.
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(cap=RESPAWN_BACKOFF_CAP)
        self._clock = clock
        self.respawns = 0

    def register(self, uuid: str, service_name: str,
                 monitored_process: ProcessManager) -> None:
        with self._lock:
            self._processes[(uuid, service_name)] = monitored_process

    def unregister(self, uuid: str, service_name: str) -> None:
        """Forget a process; waits for a check in progress, so that a
        process being stopped is never respawned behind the caller."""
        with self._lock:
            self._processes.pop((uuid, service_name), None)
            self._backoff.forget(_key(uuid, service_name))

    def is_registered(self, uuid: str, service_name: str) -> bool:
        with self._lock:
            return (uuid, service_name) in self._processes

    def failing(self) -> dict[str, str]:
        """uuid -> why its process is down: it could not be respawned, or
        it died again since its respawn (not one death, respawned fine)."""
        return {key.split(':', 1)[1]: streak.reason
                for key, streak in self._backoff.failing().items()
                if _was_down(streak)}

    def start(self) -> None:
        interval = self.conf.check_child_processes_interval
        if interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,),
                                        name='process-monitor', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.check()
            except Exception:  # the monitor must outlive any one failure
                LOG.exception('Process check failed')

    def check(self) -> None:
        """One pass: respawn every registered process that is not alive
        and whose next attempt is due."""
        with self._lock:
            for (uuid, service), process in list(self._processes.items()):
                if self._respawn_if_dead(_key(uuid, service), process):
                    self.respawns += 1
                    if self.respawn_callback is not None:
                        self.respawn_callback(uuid, service)

    def _respawn_if_dead(self, key: str, process: ProcessManager) -> bool:
        with process.lock:
            if process.active:
                streak = self._backoff.succeeded(key)
                if streak is not None and _was_down(streak):
                    LOG.warning('%s for %s is running again',
                                process.service, process.uuid)
                return False
            now = self._clock()
            if not self._backoff.may_try(key, now):
                return False
            try:
                process.spawn()
            except ProcessError as err:
                streak = self._backoff.failed(key, str(err), now)
                LOG.error('%s for %s is down and could not be respawned '
                          '(attempt %d, next in %.0f s): %s', process.service,
                          process.uuid, streak.attempts, streak.delay, err)
                return False
            # Counts as a failure until a later check finds it still up: a
            # process that dies right after its start is not respawned in
            # a tight loop either.
            streak = self._backoff.failed(key, RESPAWNED, now)
            LOG.error('%s for %s died; respawned (attempt %d)',
                      process.service, process.uuid, streak.attempts)
            return True


def _key(uuid: str, service: str) -> str:
    return f'{service}:{uuid}'


def _was_down(streak: Streak) -> bool:
    """More than one death respawned at once (which goes unreported)."""
    return streak.attempts > 1 or streak.reason != RESPAWNED
