#!/usr/bin/env python
"""kaon security groups on the data plane: what an update costs the kernel.

    python benchmarks/secgroups.py [--quick] [--out FILE]

200 ports (--quick: 50) are veth pairs on one bridge (kt-bench names,
removed at the end) filtered by the real nftables driver through the
firewall agent, whose server is an in-process SecurityGroupServerApi over
dicts (tests/support/firewall.py).  Every port has a group of its own
with 20 rules, and the groups g1, g50 and g200 (used by the first 1, 50
and 200 ports) 20 rules each, one of them naming g200 as remote group, so
g200 is a remote set of 200 members.  Measured:

(a) a full apply of everything from nothing, as an agent start does (and
    a new agent over the tables an old one left), and the periodic check:
    nearly free while nothing committed to nf_tables since the firewall's
    own last commit, else two listings and a full rebuild;
(b) rule update -> enforced on 1, 50 and 200 ports: the
    security_groups_rule_updated cast answered (the ports' info fetched,
    the group's two chains rewritten in one transaction, committed), a rule
    added and removed in turn (a removal also cuts the flows it allowed);
(c) a port joining (and leaving) the remote group of 200 members: the
    security_groups_member_updated cast answered (set elements added or
    deleted; a leave also cuts flows).

"Enforced" is the nftables transaction committed: the kernel switches to
the new rules atomically at commit.  p99 of 20 samples is their maximum.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from benchmarks.common import (  # noqa: E402
    arguments,
    finish,
    is_root,
    machine,
    pct,
    table,
    unwind_on_signals,
)
from kaon import naming  # noqa: E402
from kaon.agent.firewall.agent import FirewallAgent  # noqa: E402
from kaon.agent.firewall.nftables import NftablesDriver  # noqa: E402
from kaon.agent.linux import ip_lib  # noqa: E402
from kaon.wire import SecurityGroupPort, SecurityGroupRule  # noqa: E402
from tests.support.firewall import FakeServer  # noqa: E402

PREFIX = 'ktbq'
SAMPLES = 20
RULES = 20


def group_rules(remote: str | None = None) -> list[SecurityGroupRule]:
    """20 rules of the kinds clouds write: ports, ranges, prefixes, ICMP,
    both ethertypes, and a remote group."""
    rules: list[SecurityGroupRule] = [
        {'direction': 'egress', 'ethertype': 'IPv4'},
        {'direction': 'egress', 'ethertype': 'IPv6'},
        {'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'icmp'},
        {'direction': 'ingress', 'ethertype': 'IPv6', 'protocol': 'ipv6-icmp'},
    ]
    if remote:
        rules.append({'direction': 'ingress', 'ethertype': 'IPv4',
                      'remote_group_id': remote})
    port = 1000
    while len(rules) < RULES:
        rules.append({'direction': 'ingress', 'ethertype': 'IPv4',
                      'protocol': 'tcp' if port % 2 else 'udp',
                      'port_range_min': port, 'port_range_max': port + 9,
                      'source_ip_prefix': f'10.{port % 200}.0.0/16'})
        port += 10
    return rules


class Bench:
    def __init__(self, ports: int) -> None:
        self.network = str(uuid.uuid4())
        self.bridge = naming.bridge(PREFIX, self.network)
        self.table = f'kt_bench_{uuid.uuid4().hex[:6]}'
        self.server = FakeServer()
        self.peers: list[str] = []
        sizes = [s for s in (1, 50, 200) if s <= ports]
        self.sizes = sizes
        for size in sizes:
            self.server.rules[f'g{size}'] = group_rules(f'g{sizes[-1]}')
        ip_lib.ensure_bridge(self.bridge)
        for n in range(ports):
            self.add_port(n, [f'g{s}' for s in sizes if n < s])
        self.driver = NftablesDriver(PREFIX, self.table)
        self.agent = FirewallAgent(self.server, self.driver, PREFIX)

    def add_port(self, n: int, groups: list[str]) -> None:
        pid = str(uuid.uuid4())
        own = f'own-{n}'
        self.server.rules[own] = group_rules()
        port: SecurityGroupPort = {
            'id': pid, 'network_id': self.network,
            'device': naming.tap(pid),
            'mac_address': f'fa:16:3e:01:{n // 256:02x}:{n % 256:02x}',
            'fixed_ips': [f'10.252.{n // 250}.{n % 250 + 2}'],
            'security_groups': [own] + groups, 'allowed_address_pairs': [],
            'port_security_enabled': True}
        self.server.ports[pid] = port
        peer = f'ktbp{n:04x}{uuid.uuid4().hex[:4]}'
        self.peers.append(peer)
        with ip_lib._ipr() as ipr:
            ipr.link('add', ifname=naming.tap(pid), kind='veth',
                     peer={'ifname': peer})
            ipr.link('set', index=ipr.link_lookup(ifname=naming.tap(pid))[0],
                     master=ipr.link_lookup(ifname=self.bridge)[0],
                     state='up')

    def close(self) -> None:
        for peer in self.peers:
            ip_lib.delete_device(peer)
        ip_lib.delete_device(self.bridge)
        self.driver.remove_all()


Sample = tuple[float, float]     # (wall ms, this process's CPU ms)


def timed(call: Any, *args: Any) -> Sample:
    """Wall time, and CPU time of this process: the nftables commit and
    the conntrack walk run in the kernel on this process's behalf, so the
    CPU time is the cost itself, the wall time that plus the waiting on
    a shared machine's other load."""
    wall, cpu = time.perf_counter(), time.process_time()
    call(*args)
    return ((time.perf_counter() - wall) * 1000,
            (time.process_time() - cpu) * 1000)


def summary(samples: list[Sample]) -> dict[str, Any]:
    walls, cpus = [w for w, _ in samples], [c for _, c in samples]
    return {'p50_ms': round(pct(walls, 50) or 0, 2),
            'p99_ms': round(pct(walls, 99) or 0, 2),
            'cpu_p50_ms': round(pct(cpus, 50) or 0, 2),
            'cpu_p99_ms': round(pct(cpus, 99) or 0, 2),
            'samples': len(samples)}


def bench_full(bench: Bench) -> dict[str, Any]:
    first = timed(bench.agent.sync)
    idle = [timed(bench.driver.check) for _ in range(5)]
    drifted = []
    for _ in range(3):
        # Any commit by another process (here an empty table made and
        # deleted) makes the next check list, rebuild and compare.
        bench.driver.nft.run(f'add table inet {bench.table}x\n'
                             f'delete table inet {bench.table}x')
        drifted.append(timed(bench.driver.check))
    fresh = NftablesDriver(PREFIX, bench.table)
    rebuild = FirewallAgent(bench.server, fresh, PREFIX)
    again = timed(rebuild.sync)
    bench.agent, bench.driver = rebuild, fresh
    return {'first_apply': summary([first]),
            'fresh_agent_apply': summary([again]),
            'check_unchanged': summary(idle),
            'check_after_outside_commit': summary(drifted),
            'rules_in_kernel': rule_count(fresh)}


def rule_count(driver: NftablesDriver) -> int:
    return sum(1 for family in ('bridge', 'inet')
               for obj in driver.nft.list_json(
                   f'list table {family} {driver.table}') if 'rule' in obj)


def bench_rule_update(bench: Bench) -> dict[str, Any]:
    found = {}
    extra: SecurityGroupRule = {'direction': 'ingress', 'ethertype': 'IPv4',
                                'protocol': 'tcp', 'port_range_min': 22,
                                'port_range_max': 22}
    for size in bench.sizes:
        name = f'g{size}'
        base = bench.server.rules[name]
        samples = []
        for i in range(SAMPLES):
            bench.server.rules[name] = base + [extra] if i % 2 == 0 else base
            samples.append(timed(bench.agent.security_groups_rule_updated,
                                 [name]))
        found[size] = summary(samples)
    return found


def bench_member(bench: Bench) -> dict[str, Any]:
    remote = f'g{bench.sizes[-1]}'
    # A port of another host joins: only the set changes here.
    joiner_id = str(uuid.uuid4())
    joiner: SecurityGroupPort = {
        'id': joiner_id, 'network_id': bench.network,
        'device': naming.tap(joiner_id), 'mac_address': 'fa:16:3e:02:00:01',
        'security_groups': [], 'fixed_ips': ['10.252.250.1']}
    bench.server.ports[joiner['id']] = joiner
    joins, leaves = [], []
    for _ in range(SAMPLES // 2):
        joiner['security_groups'].append(remote)
        joins.append(timed(bench.agent.security_groups_member_updated,
                           [remote]))
        joiner['security_groups'].remove(remote)
        leaves.append(timed(bench.agent.security_groups_member_updated,
                            [remote]))
    members = len(bench.server.members(remote, {'IPv4'})['IPv4']) + 1
    return {'members': members, 'join': summary(joins),
            'leave': summary(leaves)}


def report(results: dict[str, Any]) -> str:
    full, member = results['full'], results['member']
    named = [('full apply, agent start', full['first_apply']),
             ('full apply, fresh agent over it', full['fresh_agent_apply']),
             ('check, nothing committed since', full['check_unchanged']),
             ('check after another commit (list, rebuild, compare)',
              full['check_after_outside_commit'])]
    named += [(f'rule update -> enforced, {size} ports', s)
              for size, s in results['rule_update'].items()]
    named += [(f'member joins a group of {member["members"]}',
               member['join']),
              ('member leaves it (flows cut)', member['leave'])]
    rows = [[what, s['p50_ms'], s['p99_ms'], s['cpu_p50_ms'],
             s['cpu_p99_ms']] for what, s in named]
    return (f'{results["ports"]} ports, {full["rules_in_kernel"]} nftables '
            'rules\n' + table(['what', 'p50 ms', 'p99 ms', 'CPU p50 ms',
                               'CPU p99 ms'], rows))


def main() -> int:
    parser = arguments(__doc__, 'secgroups')
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args()
    if not is_root('veths, a bridge and nftables'):
        return 2
    unwind_on_signals()
    ports = 50 if args.quick else 200
    results: dict[str, Any] = {'machine': machine(), 'ports': ports,
                               'rules_per_group': RULES}
    started = time.perf_counter()
    bench = Bench(ports)
    try:
        results['full'] = bench_full(bench)
        results['rule_update'] = bench_rule_update(bench)
        results['member'] = bench_member(bench)
    finally:
        bench.close()
    results['seconds'] = round(time.perf_counter() - started, 1)
    finish(results, report, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
