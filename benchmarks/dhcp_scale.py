#!/usr/bin/env python
"""kaon DHCP scale benchmark: one agent serving 1,000 networks.

    python benchmarks/dhcp_scale.py [--networks N] [--out FILE]

Needs root and the data-plane packages.  Runs one `kaon server --dhcp-agent`
(embedded: SQLite, in-process RPC) with test prefixes (namespaces
kt-qdhcp-, bridges ktbr, state under /tmp/kt-state-*), sets
fs.inotify.max_user_instances to the kernel default (128) first, as on a
fresh host, and restores it at the end; everything it made is removed, also
on failure and on Ctrl-C / SIGTERM.

N networks (default 1,000), each with one DHCP subnet (all 10.94.0.0/24:
every network has its own namespace), are created over the API one after
the other; then:
  served: seconds from the first POST until every network's DHCP port is
          ACTIVE (the agent reported it served) and every network has a
          running dnsmasq (pid file -> live dnsmasq of that network);
  dnsmasq: how many run, their summed and mean RSS and PSS;
  agent:  the server+agent process's RSS, its CPU use over 20 s once all
          are served (the periodic file check of every network runs every
          dhcp_check_interval = 5 s meanwhile), and its report_state;
  inotify: max_user_instances / max_user_watches before and after, and
          what the agent logged about them (and any dnsmasq that failed
          to create its inotify instance).
A VM (busybox udhcpc) on the last network checks a lease end to end.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import time
import uuid
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The imports below need ROOT on sys.path first:
# ruff: noqa: E402

from benchmarks.common import (
    Client,
    arguments,
    cpu_percent,
    finish,
    first_line,
    is_root,
    machine,
    table,
    unwind_on_signals,
)
from tests.e2e.conftest import (
    BRIDGE_PREFIX,
    NS_PREFIX,
    _our_dnsmasqs,
    cleanup,
    leftovers,
)
from tests.support.server import KaonServer
from tests.support.vm import Vms

SYSCTL = '/proc/sys/fs/inotify/'
KERNEL_DEFAULT_INSTANCES = 128
CIDR = '10.94.0.0/24'
SERVE_TIMEOUT = 900.0
IDLE_WINDOW = 20.0


def sysctl(name: str, value: int | None = None) -> int:
    if value is not None:
        with open(SYSCTL + name, 'w') as f:
            f.write(f'{value}\n')
    with open(SYSCTL + name) as f:
        return int(f.read())


def kib(pid: int, path: str, field: str) -> int:
    """A `Field:  N kB` value of /proc/<pid>/<path> (0 if gone)."""
    try:
        with open(f'/proc/{pid}/{path}') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def served(client: Client) -> int:
    ports = client.json('GET', '/v2.0/ports?device_owner=network:dhcp'
                        '&fields=status')['ports']
    return sum(p['status'] == 'ACTIVE' for p in ports)


def wait_all_served(srv: KaonServer, client: Client, count: int) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT
    while served(client) < count or \
            len(_our_dnsmasqs(srv.state)) < count:
        if srv.proc.poll() is not None:
            raise RuntimeError('kaon server exited')
        if time.monotonic() > deadline:
            raise RuntimeError(f'not all {count} networks served within '
                               f'{SERVE_TIMEOUT} s')
        time.sleep(1)


def vm_lease(client: Client, network_id: str) -> bool:
    port = client.json('POST', '/v2.0/ports', {'port': {
        'network_id': network_id, 'device_owner': 'compute:nova'}},
        201)['port']
    deadline = time.monotonic() + 30
    while client.json('GET', f'/v2.0/ports/{port["id"]}')['port'][
            'status'] != 'ACTIVE':
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    vms = Vms()
    try:
        lease = vms(BRIDGE_PREFIX + network_id[:11],
                    port['mac_address']).dhcp(tries=3)
        return lease is not None and \
            lease.ip == port['fixed_ips'][0]['ip_address']
    finally:
        vms.destroy_all()


def run(srv: KaonServer, count: int) -> dict[str, Any]:
    client = Client(srv.url)
    start = time.monotonic()
    networks = []
    for i in range(count):
        net = client.json('POST', '/v2.0/networks', {'network': {
            'name': f'kt-scale-{i}'}}, 201)['network']['id']
        networks.append(net)
        client.json('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net, 'cidr': CIDR, 'ip_version': 4}}, 201)
    posted = time.monotonic() - start
    print(f'  {count} networks posted in {posted:.1f} s', flush=True)
    wait_all_served(srv, client, count)
    all_served = time.monotonic() - start
    print(f'  all served {all_served:.1f} s after the first POST',
          flush=True)
    pids = _our_dnsmasqs(srv.state)
    rss = [kib(p, 'status', 'VmRSS') for p in pids]
    pss = [kib(p, 'smaps_rollup', 'Pss') for p in pids]
    idle_cpu = cpu_percent(srv.proc.pid, IDLE_WINDOW)
    agent = client.json('GET', '/v2.0/agents')['agents'][0]
    log = srv.log()
    return {
        'networks': count, 'posted_s': round(posted, 1),
        'served_s': round(all_served, 1),
        'dnsmasq': {'count': len(pids),
                    'rss_total_mib': round(sum(rss) / 1024, 1),
                    'rss_mean_kib': round(sum(rss) / max(1, len(rss))),
                    'pss_total_mib': round(sum(pss) / 1024, 1)},
        'server_agent': {'rss_mib': round(kib(srv.proc.pid, 'status',
                                              'VmRSS') / 1024, 1),
                         'idle_cpu_percent': idle_cpu,
                         'configurations': agent['configurations']},
        'inotify_log': re.findall(r'Raised fs\.inotify\.[^\n]*', log),
        'inotify_failures': log.count('failed to create inotify'),
        'failed_attempts': log.count(' failed: ') +
        log.count(' failed again '),
        'vm_lease_on_last': vm_lease(client, networks[-1]),
    }


def report(results: dict[str, Any]) -> str:
    r, limits = results['run'], results['inotify']
    rows = [
        ['networks', r['networks']],
        ['posted (s)', r['posted_s']],
        ['all served (s, from first POST)', r['served_s']],
        ['dnsmasq running', r['dnsmasq']['count']],
        ['dnsmasq RSS total (MiB)', r['dnsmasq']['rss_total_mib']],
        ['dnsmasq RSS mean (KiB)', r['dnsmasq']['rss_mean_kib']],
        ['dnsmasq PSS total (MiB)', r['dnsmasq']['pss_total_mib']],
        ['server+agent RSS (MiB)', r['server_agent']['rss_mib']],
        [f'server+agent CPU idle, {IDLE_WINDOW:.0f} s (%)',
         r['server_agent']['idle_cpu_percent']],
        ['max_user_instances before -> after',
         f"{limits['instances_before']} -> {limits['instances_after']}"],
        ['max_user_watches before -> after',
         f"{limits['watches_before']} -> {limits['watches_after']}"],
        ['dnsmasq inotify failures', r['inotify_failures']],
        ['failed network attempts logged', r['failed_attempts']],
        ['VM lease on the last network', r['vm_lease_on_last']],
    ]
    out = [table(['one agent, many networks', 'value'], rows)]
    out += ['agent log: ' + line for line in r['inotify_log']]
    return '\n'.join(out)


def main() -> int:
    parser = arguments(__doc__, 'dhcp_scale')
    parser.add_argument('--networks', type=int, default=1000)
    args = parser.parse_args()
    if not is_root('namespaces, bridges, dnsmasq, sysctl'):
        return 2
    unwind_on_signals()
    old = {n: sysctl(n) for n in ('max_user_instances', 'max_user_watches')}
    results: dict[str, Any] = {
        'machine': machine(dnsmasq=first_line('dnsmasq', '--version')),
        'settings': {'db': 'sqlite', 'dhcp_check_interval': 5,
                     'mode': 'kaon server --dhcp-agent (embedded)'}}
    started = time.perf_counter()
    srv = KaonServer(server_args=('--dhcp-agent',), options={
        'host': f'kt-host-{uuid.uuid4().hex[:6]}',
        'dhcp_namespace_prefix': NS_PREFIX, 'bridge_prefix': BRIDGE_PREFIX,
        'report_interval': 2}, quotas={'port': -1, 'network': -1,
                                       'subnet': -1})
    try:
        sysctl('max_user_instances', KERNEL_DEFAULT_INSTANCES)
        before = {n: sysctl(n) for n in old}
        srv.start()
        print(f'one agent, {args.networks} networks', flush=True)
        results['run'] = run(srv, args.networks)
        results['inotify'] = {
            'instances_before': before['max_user_instances'],
            'instances_after': sysctl('max_user_instances'),
            'watches_before': before['max_user_watches'],
            'watches_after': sysctl('max_user_watches')}
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        srv.stop()
        made = cleanup(srv.state)
        left = leftovers(made, srv.state)
        srv.remove_state()
        for name, value in old.items():
            sysctl(name, value)
    results['leftovers'] = left
    results['seconds'] = round(time.perf_counter() - started, 1)
    finish(results, report, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
