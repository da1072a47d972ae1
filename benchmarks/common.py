"""What every benchmark shares: a light JSON client, its tables, and
printing and writing its results at the end."""
from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.parse
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Client:
    """A keep-alive HTTP/1.1 connection speaking JSON (lighter than
    requests, so the client's own cost stays small next to the server's)."""

    def __init__(self, base_url: str, timeout: float = 300,
                 headers: dict[str, str] | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.headers = {'Accept': 'application/json', **(headers or {})}
        self.host, self.port = parsed.hostname, parsed.port
        self.timeout = timeout
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)
        conn.connect()
        self.used = time.monotonic()
        return conn

    def call(self, method: str, path: str, body: Any = None
             ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers['Content-Type'] = 'application/json'
        if time.monotonic() - self.used > 2:
            # The server may drop a connection idle this long just as we
            # send on it: start afresh rather than race it.
            self.conn.close()
            self.conn = self._connect()
        try:
            self.conn.request(method, path, data, headers)
            resp = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            if method not in ('GET', 'DELETE'):
                raise
            self.conn.close()
            self.conn = self._connect()
            self.conn.request(method, path, data, headers)
            resp = self.conn.getresponse()
        raw = resp.read()
        self.used = time.monotonic()
        return resp.status, raw

    def json(self, method: str, path: str, body: Any = None,
             expect: int = 200) -> Any:
        status, raw = self.call(method, path, body)
        if status != expect:
            raise RuntimeError(f'{method} {path}: {status} {raw[:500]!r}')
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def first_line(*cmd: str) -> str:
    """A tool's version line ('' if it is missing)."""
    try:
        out = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    except OSError:
        return ''
    return (out.stdout or out.stderr).strip().split('\n')[0]


def machine(**extra: str) -> dict[str, Any]:
    """Where and when the numbers were taken, with versions that matter."""
    return {'when': datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec='seconds'),
            'commit': first_line('git', 'rev-parse', '--short', 'HEAD'),
            'cpus': os.cpu_count(), 'loadavg': os.getloadavg(),
            'python': platform.python_version(),
            'platform': platform.platform(), **extra}


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process and its direct children (gunicorn)."""
    pids = [pid]
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry))
    total = 0
    for p in pids:
        try:
            with open(f'/proc/{p}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def settle(srv: Any, limit: float = 180) -> float:
    """Wait until the server is idle (its background work, such as the DHCP
    notifier's queue, drained: < 5% CPU over half a second); returns the
    seconds waited."""
    if not srv.proc or not os.path.isdir('/proc'):
        return 0.0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if cpu_percent(srv.proc.pid, 0.5) < 5:
            break
    return round(time.perf_counter() - t0, 1)


def cpu_percent(pid: int, seconds: float) -> float:
    """The process's CPU use over the next `seconds`, in % of one core."""
    hz = os.sysconf('SC_CLK_TCK')
    before = _cpu_ticks(pid)
    time.sleep(seconds)
    return round(100 * (_cpu_ticks(pid) - before) / hz / seconds, 1)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [['-' if c is None else str(c) for c in row]
             for row in [headers] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ['  '.join(c.rjust(w) if j else c.ljust(w)
                       for j, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def finish(results: dict[str, Any], report: Callable[[dict], str],
           out: str) -> None:
    print('\n' + report(results))
    print(f'\n(total {results["seconds"]} s, load average at start '
          f'{results["machine"]["loadavg"]})')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=2, default=str)
    print(f'results written to {os.path.relpath(out, ROOT)}')


def arguments(doc: str, name: str) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: its docstring's first line
    as description, --out defaulting to benchmarks/results/<name>.json."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(
        ROOT, 'benchmarks', 'results', f'{name}.json'))
    return parser


def is_root(needs: str) -> bool:
    """The data-plane benchmarks need root; say what for when it is not."""
    if os.geteuid() == 0:
        return True
    print(f'needs root ({needs})', file=sys.stderr)
    return False


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f'signal {signum}')


def unwind_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every clean-up in a
    `finally` runs and no namespace or dnsmasq is left behind."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
