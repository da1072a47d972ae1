#!/usr/bin/env python
"""kaon API benchmark: port creates, port lists, IPAM cost at scale.

    python benchmarks/api.py [--quick] [--no-postgres] [--out FILE]

(a) ports/s and per-request p50/p99 latency for port creates at
    concurrency 1 and 8: SQLite with one server process, PostgreSQL (a
    private instance, tests/support/postgres.py) with 4 API workers;
(b) GET /v2.0/ports latency with 10,000 ports in the database (SQLite;
    PostgreSQL too when it runs);
(c) IPAM cost per allocation on a /8 already holding 100,000 ports vs a /24
    holding 10: port-create latency through the API, and the raw allocator
    (kaon.ipam.allocator.take_any + give_back) in-process, with the /8 also
    fragmented (every 10th port deleted) for the allocator.

Everything runs on this machine against real `kaon server` processes over
loopback HTTP (keep-alive connections, one per client thread).  A readable
table goes to stdout, all numbers to benchmarks/results/api.json.  The
machine is small and shared: medians and ratios are what to compare.

Targets (from the issue): >= 150 creates/s at concurrency 8 on SQLite and
PostgreSQL with p99 < 100 ms; listing 10,000 ports < 0.5 s; allocation cost
on the /8 with 100k ports <= 2x the /24's.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The imports below need ROOT on sys.path first:
# ruff: noqa: E402

from benchmarks.common import (
    Client,
    arguments,
    finish,
    machine,
    pct,
    settle,
    table,
)
from tests.support.postgres import PostgresInstance, PostgresNotInstalled
from tests.support.server import KaonServer

FULL = {'creates': 1000, 'list_ports': 10_000, 'list_runs': 7,
        'big_ports': 100_000, 'ipam_creates': 200, 'raw_ops': 2000,
        'bulk': 500, 'repeat': 3}
QUICK = {'creates': 200, 'list_ports': 2000, 'list_runs': 5,
         'big_ports': 20_000, 'ipam_creates': 50, 'raw_ops': 500,
         'bulk': 500, 'repeat': 1}
TARGETS = {'creates_per_s_c8': 150, 'p99_ms_c8': 100, 'list_s': 0.5,
           'ipam_ratio': 2.0}
# In-process populating of the /8.  Small batches: each port's random MAC
# is only checked by the unique constraint, so a big batch into a big
# network collides (and is retried whole) more often than not.
POPULATE_BATCH = 100


# -- measuring ----------------------------------------------------------------

def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def make_network(client: Client, cidr: str, name: str) -> tuple[str, str]:
    net = client.json('POST', '/v2.0/networks',
                      {'network': {'name': name}}, 201)['network']['id']
    sub = client.json('POST', '/v2.0/subnets', {'subnet': {
        'network_id': net, 'cidr': cidr, 'ip_version': 4}}, 201)
    return net, sub['subnet']['id']


def run_clients(url: str, concurrency: int, n: int,
                request: Callable[[Client, int], tuple[int, bytes]]
                ) -> dict[str, Any]:
    """n requests from `concurrency` threads; wall time and latencies."""
    lock = threading.Lock()
    next_i = iter(range(n))
    latencies: list[float] = []
    per_client: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    clients = [Client(url) for _ in range(concurrency)]
    start = {}
    barrier = threading.Barrier(
        concurrency, action=lambda: start.setdefault('t', time.perf_counter()))

    def worker(client: Client) -> None:
        mine: list[float] = []
        barrier.wait()
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                break
            t0 = time.perf_counter()
            try:
                status, raw = request(client, i)
            except Exception as err:  # a dead connection counts as an error
                status, raw = 0, repr(err).encode()
            mine.append(time.perf_counter() - t0)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 300 and len(errors) < 5:
                    errors.append(f'{status} {raw[:300]!r}')
        with lock:
            latencies.extend(mine)
            if mine:
                per_client.append(statistics.median(mine))
    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start['t']
    for c in clients:
        c.close()
    return {'n': n, 'concurrency': concurrency, 'seconds': round(wall, 3),
            'per_s': round(n / wall, 1), 'p50_ms': ms(pct(latencies, 50)),
            'p99_ms': ms(pct(latencies, 99)),
            'max_ms': ms(max(latencies)), 'statuses': statuses,
            # Uneven medians across clients mean uneven server workers.
            'per_client_p50_ms': sorted(ms(x) for x in per_client),
            'sample_errors': errors}


def port_creator(net_id: str) -> Callable[[Client, int], tuple[int, bytes]]:
    def create(client: Client, i: int) -> tuple[int, bytes]:
        return client.call('POST', '/v2.0/ports',
                           {'port': {'network_id': net_id, 'name': f'b{i}'}})
    return create


def start_server(srv: KaonServer) -> KaonServer:
    """srv.start(), tolerating a first answer slower than its 1 s probe
    (gunicorn workers still importing on a busy machine)."""
    try:
        return srv.start()
    except requests.Timeout:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if srv.proc is None or srv.proc.poll() is not None:
                raise
            try:
                requests.get(srv.url + '/', timeout=10)
                return srv
            except requests.RequestException:
                time.sleep(0.2)
        raise


def stop_server(srv: KaonServer) -> None:
    srv.stop()
    shutil.rmtree(srv.state, ignore_errors=True)


def explain_failure(srv: KaonServer, err: BaseException) -> None:
    """What the server (or `kaon db upgrade`) said, for a failed run."""
    if isinstance(err, subprocess.CalledProcessError):
        print(f'{err.cmd} failed:\n{err.stdout}\n{err.stderr}',
              file=sys.stderr)
    if os.path.exists(srv.log_path):
        print('server log (tail):\n' + srv.log()[-3000:], file=sys.stderr)


# -- (a) creates --------------------------------------------------------------

def bench_creates(srv: KaonServer, backend: str, workers: int,
                  sizes: dict[str, int], third_octet: int) -> list[dict]:
    """Each concurrency `repeat` times; the row holds the medians."""
    rows = []
    setup = Client(srv.url)
    for i, concurrency in enumerate((1, 8)):
        net, _ = make_network(setup, f'10.{third_octet + i}.0.0/16',
                              f'bench-c{concurrency}')
        # Warm up: connections, worker processes, caches.
        run_clients(srv.url, concurrency, 10 * concurrency,
                    port_creator(net))
        runs = []
        for _ in range(sizes['repeat']):
            waited = settle(srv)
            runs.append(run_clients(srv.url, concurrency, sizes['creates'],
                                    port_creator(net)))
            runs[-1]['settled_s'] = waited
        result = {key: statistics.median(r[key] for r in runs)
                  for key in ('seconds', 'per_s', 'p50_ms', 'p99_ms',
                              'max_ms')}
        statuses: dict[int, int] = {}
        for r in runs:
            for status, count in r['statuses'].items():
                statuses[status] = statuses.get(status, 0) + count
        result.update(backend=backend, workers=workers,
                      concurrency=concurrency, n=sizes['creates'],
                      repeats=len(runs), statuses=statuses, runs=runs)
        rows.append(result)
        print(f'  creates {backend:10s} workers={workers} '
              f'c={concurrency}: {result["per_s"]:7.1f}/s  '
              f'p50 {result["p50_ms"]:6.1f} ms  p99 {result["p99_ms"]:6.1f} '
              f'ms  {statuses}  (runs: '
              f'{", ".join(str(r["per_s"]) for r in runs)}/s)', flush=True)
    setup.close()
    return rows


# -- (b) list -----------------------------------------------------------------

def bench_list(srv: KaonServer, backend: str, sizes: dict[str, int],
               cidr: str) -> dict[str, Any]:
    client = Client(srv.url)
    have = len(client.json('GET', '/v2.0/ports?fields=id')['ports'])
    missing = sizes['list_ports'] - have
    populate_s = 0.0
    if missing > 0:
        net, _ = make_network(client, cidr, 'bench-list')
        t0 = time.perf_counter()
        while missing > 0:
            batch = min(sizes['bulk'], missing)
            client.json('POST', '/v2.0/ports', {'ports': [
                {'network_id': net} for _ in range(batch)]}, 201)
            missing -= batch
        populate_s = time.perf_counter() - t0
    created = sizes['list_ports'] - have
    # Background work the creates left (notifier queue) is not the list's.
    settled = settle(srv)
    times, parse = [], []
    count = size = 0
    client.call('GET', '/v2.0/ports')  # warm
    for _ in range(sizes['list_runs']):
        t0 = time.perf_counter()
        status, raw = client.call('GET', '/v2.0/ports')
        t1 = time.perf_counter()
        assert status == 200, raw[:300]
        count = len(json.loads(raw)['ports'])
        parse.append(time.perf_counter() - t1)
        times.append(t1 - t0)
        size = len(raw)
    client.close()
    result = {'backend': backend, 'ports': count, 'runs': len(times),
              'median_s': round(statistics.median(times), 3),
              'min_s': round(min(times), 3), 'max_s': round(max(times), 3),
              'client_json_parse_s': round(statistics.median(parse), 3),
              'body_bytes': size, 'settled_s': settled,
              'bulk_populate_ports_per_s': round(created / populate_s, 1)
              if populate_s else None}
    print(f'  list {backend:10s} {count} ports: median '
          f'{result["median_s"]:.3f} s (min {result["min_s"]:.3f}, '
          f'{size / 1e6:.1f} MB; server busy {settled} s after the bulk '
          'creates)', flush=True)
    return result


def run_server_benches(backend: str, srv: KaonServer, workers: int,
                       sizes: dict[str, int], octet: int
                       ) -> tuple[list[dict], dict | None]:
    try:
        start_server(srv)
        creates = bench_creates(srv, backend, workers, sizes, octet)
        listing = bench_list(srv, backend, sizes, f'10.{octet + 2}.0.0/16')
        return creates, listing
    except Exception as err:
        explain_failure(srv, err)
        raise
    finally:
        stop_server(srv)


# -- (c) IPAM at scale --------------------------------------------------------

class _RetryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if 'retrying' in record.getMessage():
            self.count += 1


def _in_process(config: str) -> tuple[Any, Any, Any]:
    """kaon's plugin in this process, on the server's (stopped) database."""
    from kaon import conf
    from kaon.context import Context
    from kaon.db.engine import Database
    from kaon.plugin.core import Plugin
    conf.load(config_files=[config])
    db = Database(conf.database_url(), max_retries=50)
    return db, Plugin(db), Context.admin()


def _bodies(ctx: Any, resource: str, items: list[dict]) -> list[dict]:
    """Bodies as the API layer hands them to the plugin."""
    from kaon.api.attributes import prepare_body
    from kaon.api.definitions import RESOURCES
    collection = resource + 's'
    return prepare_body(RESOURCES[collection], ctx, {collection: items},
                        creating=True)


def populate(config: str, big: int) -> dict[str, Any]:
    """The /8 with `big` ports and the /24 with 10, straight via the plugin."""
    db, plugin, ctx = _in_process(config)
    counter = _RetryCounter()
    engine_log = logging.getLogger('kaon.db.engine')
    engine_log.addHandler(counter)
    engine_log.setLevel(logging.DEBUG)
    engine_log.propagate = False
    try:
        nets = {}
        for name, cidr, count in (('big', '10.0.0.0/8', big),
                                  ('small', '10.1.2.0/24', 10)):
            net = plugin.create('network', ctx, _bodies(
                ctx, 'network', [{'name': f'ipam-{name}'}]))[0]
            sub = plugin.create('subnet', ctx, _bodies(ctx, 'subnet', [{
                'network_id': net['id'], 'cidr': cidr,
                'ip_version': 4}]))[0]
            nets[name] = {'network_id': net['id'], 'subnet_id': sub['id'],
                          'cidr': cidr, 'ports': count}
            t0 = time.perf_counter()
            done = 0
            while done < count:
                batch = min(POPULATE_BATCH, count - done)
                plugin.create('port', ctx, _bodies(ctx, 'port', [
                    {'network_id': net['id']}] * batch))
                done += batch
                if name == 'big' and done % 20_000 == 0:
                    print(f'    populated {done} ports '
                          f'({time.perf_counter() - t0:.0f} s)', flush=True)
            nets[name]['populate_s'] = round(time.perf_counter() - t0, 1)
        nets['retried_transactions'] = counter.count
        return nets
    finally:
        engine_log.removeHandler(counter)
        db.dispose()


def bench_ipam_api(srv: KaonServer, nets: dict, n: int) -> dict[str, Any]:
    """Interleaved single creates on the /8 and the /24 (noise hits both).

    Each timed create is followed by an untimed delete of that port, so
    both subnets keep their population (100k / 10) throughout.
    """
    client = Client(srv.url)
    lat: dict[str, list[float]] = {'big': [], 'small': []}

    def create_and_delete(name: str) -> float:
        t0 = time.perf_counter()
        port = client.json('POST', '/v2.0/ports', {'port': {
            'network_id': nets[name]['network_id']}}, 201)['port']
        took = time.perf_counter() - t0
        client.json('DELETE', f'/v2.0/ports/{port["id"]}', expect=204)
        return took
    for name in ('big', 'small'):  # warm
        for _ in range(5):
            create_and_delete(name)
    for i in range(n):
        for name in (('big', 'small') if i % 2 else ('small', 'big')):
            lat[name].append(create_and_delete(name))
    client.close()
    big, small = (statistics.median(lat[k]) for k in ('big', 'small'))
    return {'creates_each': n, 'big_p50_ms': ms(big),
            'small_p50_ms': ms(small),
            'big_p99_ms': ms(pct(lat['big'], 99)),
            'small_p99_ms': ms(pct(lat['small'], 99)),
            'ratio': round(big / small, 2)}


def _raw_ops(db: Any, subnet_id: str, n: int) -> tuple[float, float]:
    """Median seconds of take_any and of give_back, in one transaction
    that is rolled back (the allocator's own statements, no commit)."""
    from kaon.ipam import allocator
    takes, gives = [], []
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.info['begin_sql'] = 'BEGIN IMMEDIATE'
        tx = conn.begin()
        try:
            for i in range(n + 20):
                t0 = time.perf_counter()
                address = allocator.take_any(conn, subnet_id, 4)
                t1 = time.perf_counter()
                assert address is not None
                allocator.give_back(conn, subnet_id, address)
                t2 = time.perf_counter()
                if i >= 20:  # the first ones warm the caches
                    takes.append(t1 - t0)
                    gives.append(t2 - t1)
        finally:
            tx.rollback()
    return statistics.median(takes), statistics.median(gives)


def _range_count(db: Any, subnet_id: str) -> int:
    from sqlalchemy import func, select

    from kaon.db.models import availability_ranges as ar
    with db.reading() as conn:
        return conn.execute(select(func.count()).select_from(ar).where(
            ar.c.subnet_id == subnet_id)).scalar_one()


def fragment(config: str, nets: dict, every: int = 10) -> int:
    """Delete every `every`-th port of the /8 (one transaction): holes."""
    from sqlalchemy import select

    from kaon.db.models import ports
    from kaon.plugin import ports as port_ops
    db, _plugin, ctx = _in_process(config)
    try:
        with db.reading() as conn:
            ids = list(conn.execute(select(ports.c.id).where(
                ports.c.network_id == nets['big']['network_id'])
                .order_by(ports.c.created_at, ports.c.id)).scalars())
        doomed = ids[::every]
        db.write(lambda conn: [port_ops.delete_port(conn, ctx, i)
                               for i in doomed])
        return len(doomed)
    finally:
        db.dispose()


def bench_ipam_raw(config: str, nets: dict, n: int,
                   label: str) -> dict[str, Any]:
    db, _plugin, _ctx = _in_process(config)
    try:
        out: dict[str, Any] = {'state': label, 'ops': n}
        for name in ('big', 'small'):
            sid = nets[name]['subnet_id']
            take, give = _raw_ops(db, sid, n)
            out[f'{name}_ranges'] = _range_count(db, sid)
            out[f'{name}_take_us'] = round(take * 1e6, 1)
            out[f'{name}_give_us'] = round(give * 1e6, 1)
        out['ratio'] = round(
            (out['big_take_us'] + out['big_give_us'])
            / (out['small_take_us'] + out['small_give_us']), 2)
        return out
    finally:
        db.dispose()


def _set_port_quota(srv: KaonServer, value: int) -> None:
    with open(srv.config) as f:
        lines = [line for line in f.read().splitlines()
                 if not line.startswith('quota_port')]
    at = next((i for i, line in enumerate(lines)
               if line.strip().lower() == '[quotas]'), None)
    if at is None:
        lines.append('[quotas]')
        at = len(lines) - 1
    lines.insert(at + 1, f'quota_port = {value}')
    with open(srv.config, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def bench_ipam(sizes: dict[str, int]) -> dict[str, Any]:
    srv = KaonServer(quotas={'port': -1})
    try:
        srv.kaon('db', 'upgrade')
        print(f'  populating a /8 with {sizes["big_ports"]} ports '
              '(in-process, via the plugin)...', flush=True)
        t0 = time.perf_counter()
        nets = populate(srv.config, sizes['big_ports'])
        print(f'    done in {time.perf_counter() - t0:.0f} s, '
              f'{nets["retried_transactions"]} transactions retried',
              flush=True)
        start_server(srv)
        api = bench_ipam_api(srv, nets, sizes['ipam_creates'])
        print(f'  API create p50: /8 {api["big_p50_ms"]} ms vs /24 '
              f'{api["small_p50_ms"]} ms -> ratio {api["ratio"]}',
              flush=True)
        srv.stop()
        # The same with a finite port quota: each create then counts the
        # project's ports.
        _set_port_quota(srv, 10_000_000)
        start_server(srv)
        quota = bench_ipam_api(srv, nets, sizes['ipam_creates'])
        print(f'  ... with a port quota: /8 {quota["big_p50_ms"]} ms vs /24 '
              f'{quota["small_p50_ms"]} ms', flush=True)
        srv.stop()
        raw = [bench_ipam_raw(srv.config, nets, sizes['raw_ops'],
                              'contiguous')]
        holes = fragment(srv.config, nets)
        raw.append(bench_ipam_raw(srv.config, nets, sizes['raw_ops'],
                                  f'{holes} holes'))
        for r in raw:
            print(f'  raw allocator ({r["state"]}): /8 take+give '
                  f'{r["big_take_us"] + r["big_give_us"]:.0f} us vs /24 '
                  f'{r["small_take_us"] + r["small_give_us"]:.0f} us -> '
                  f'ratio {r["ratio"]}', flush=True)
        return {'populate': nets, 'api': api, 'api_with_quota': quota,
                'raw': raw}
    except Exception as err:
        explain_failure(srv, err)
        raise
    finally:
        stop_server(srv)


# -- report -------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return 'ok' if ok else 'MISSED'


def report(results: dict[str, Any]) -> str:
    out = []
    rows = []
    for r in results['creates']:
        target = ''
        if r['concurrency'] == 8:
            target = verdict(r['per_s'] >= TARGETS['creates_per_s_c8']
                             and r['p99_ms'] < TARGETS['p99_ms_c8'])
        errors = {k: v for k, v in r['statuses'].items() if k != 201}
        rows.append([r['backend'], r['workers'], r['concurrency'], r['n'],
                     r['per_s'], r['p50_ms'], r['p99_ms'], r['max_ms'],
                     errors or '-', target])
    out.append('(a) port creates, median of %d runs  (target at c=8: '
               '>= 150/s, p99 < 100 ms)' % results['sizes']['repeat'])
    out.append(table(['backend', 'workers', 'conc', 'creates', 'ports/s',
                      'p50 ms', 'p99 ms', 'max ms', 'errors', 'target'],
                     rows))
    rows = [[r['backend'], r['ports'], r['runs'], r['median_s'], r['min_s'],
             r['max_s'], round(r['body_bytes'] / 1e6, 1),
             r['client_json_parse_s'], r['bulk_populate_ports_per_s'],
             r['settled_s'], verdict(r['median_s'] < TARGETS['list_s'])]
            for r in results['list']]
    out.append('\n(b) GET /v2.0/ports  (target: 10,000 ports < 0.5 s)')
    out.append(table(['backend', 'ports', 'runs', 'median s', 'min s',
                      'max s', 'MB', 'client parse s', 'bulk create/s',
                      'busy after s', 'target'], rows))
    ipam = results.get('ipam')
    if ipam:
        pop = ipam['populate']
        out.append(f'\n(c) IPAM: /8 holding {pop["big"]["ports"]} ports vs '
                   f'/24 holding 10  (target: ratio <= 2)')
        api, quota = ipam['api'], ipam['api_with_quota']
        rows = [['API create, quota -1', f'{api["big_p50_ms"]} ms',
                 f'{api["small_p50_ms"]} ms', api['ratio'],
                 verdict(api['ratio'] <= TARGETS['ipam_ratio'])],
                ['API create, finite quota', f'{quota["big_p50_ms"]} ms',
                 f'{quota["small_p50_ms"]} ms', quota['ratio'],
                 verdict(quota['ratio'] <= TARGETS['ipam_ratio'])]]
        for r in ipam['raw']:
            rows.append([f'allocator take+give ({r["state"]}, '
                         f'{r["big_ranges"]} ranges)',
                         f'{r["big_take_us"] + r["big_give_us"]:.0f} us',
                         f'{r["small_take_us"] + r["small_give_us"]:.0f} us',
                         r['ratio'],
                         verdict(r['ratio'] <= TARGETS['ipam_ratio'])])
        out.append(table(['measure (median)', '/8', '/24', 'ratio',
                          'target'], rows))
        out.append(f'populated in-process in {pop["big"]["populate_s"]} s '
                   f'(batches of {POPULATE_BATCH}; '
                   f'{pop["retried_transactions"]} transactions retried)')
    for note in results['notes']:
        out.append('note: ' + note)
    return '\n'.join(out)


def main() -> int:
    parser = arguments(__doc__, 'api')
    parser.add_argument('--quick', action='store_true',
                        help='small sizes, a smoke check (~1 minute)')
    parser.add_argument('--no-postgres', action='store_true',
                        help='SQLite only')
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    results: dict[str, Any] = {
        'machine': machine(sqlite=sqlite3.sqlite_version),
        'quick': args.quick, 'sizes': sizes, 'targets': TARGETS,
        'creates': [], 'list': [], 'notes': []}
    started = time.perf_counter()

    print('SQLite, 1 server process', flush=True)
    creates, listing = run_server_benches(
        'sqlite', KaonServer(quotas={'port': -1}), 1, sizes, 20)
    results['creates'] += creates
    results['list'].append(listing)

    if not args.no_postgres:
        try:
            pg = PostgresInstance()
        except PostgresNotInstalled as err:
            results['notes'].append(f'PostgreSQL skipped: {err}')
            print(f'PostgreSQL skipped: {err}', flush=True)
        else:
            with pg:
                print('PostgreSQL, 4 API worker processes', flush=True)
                results['machine']['postgres'] = pg.bindir
                srv = KaonServer(db_url=pg.url, workers=4,
                                 quotas={'port': -1})
                creates, listing = run_server_benches(
                    'postgresql', srv, 4, sizes, 30)
                results['creates'] += creates
                results['list'].append(listing)

    print('IPAM at scale (SQLite)', flush=True)
    results['ipam'] = bench_ipam(sizes)
    results['seconds'] = round(time.perf_counter() - started, 1)

    finish(results, report, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
