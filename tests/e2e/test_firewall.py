"""Security groups on the wire: real VMs (namespaces on a bridge), the
real nftables firewall driven by the firewall agent, real traffic.

Each test builds its own bridge, VMs and nftables tables (test names,
kaon.agent.firewall's layout) and removes them, also when it fails.
"""
from __future__ import annotations

import itertools
import logging
import os
import subprocess
import threading
from typing import Iterator

import pytest

from kaon import naming
from kaon.wire import SecurityGroupRule
from tests.e2e.conftest import MADE
from tests.support.agent import wait_for
from tests.support.firewall import Host, Stream, Vm, connects

# 10.251.0.0/16 is on none of this machine's routes (checked with
# `ip -4 route`); each test has its own /24 on its own bridge.
_subnets = itertools.count(10)

EGRESS_ALL: list[SecurityGroupRule] = [
    {'direction': 'egress', 'ethertype': 'IPv4'},
    {'direction': 'egress', 'ethertype': 'IPv6'}]


def ingress(**match: object) -> SecurityGroupRule:
    rule = {'direction': 'ingress', 'ethertype': 'IPv4', **match}
    return rule    # type: ignore[return-value]


OPEN = EGRESS_ALL + [ingress(), ingress(ethertype='IPv6')]


@pytest.fixture
def host() -> Iterator[Host]:
    made = Host(f'10.251.{next(_subnets)}')
    try:
        yield made
    finally:
        MADE.update(made.names())
        made.close()


def serve_dhcp(host: Host, vm: Vm) -> None:
    """busybox udhcpd in the VM, offering the rest of its subnet."""
    conf = os.path.join(host.tmp, f'udhcpd-{vm.ip}.conf')
    with open(conf, 'w') as f:
        f.write(f'start {host.subnet}.100\nend {host.subnet}.120\n'
                f'interface eth0\nlease_file {conf}.leases\n'
                f'option subnet 255.255.255.0\n')
    open(f'{conf}.leases', 'w').close()
    vm.popen('busybox', 'udhcpd', '-f', '-a', '100', conf)


def gets_lease(vm: Vm) -> bool:
    """Does a DHCP client in the VM get an offer (3 discovers, 1 s
    apart)?  The script does nothing: the VM keeps its address."""
    return vm.sh('busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '3',
                 '-T', '1', '-s', '/bin/true').returncode == 0


def test_rules_decide_icmp_and_tcp_both_ways(host: Host) -> None:
    host.server.rules = {
        'web': EGRESS_ALL + [ingress(protocol='tcp', port_range_min=80,
                                     port_range_max=80,
                                     source_ip_prefix=f'{host.subnet}.0/24')],
        'icmp': EGRESS_ALL + [ingress(protocol='icmp')]}
    a = host.vm('a', 11, ['web'])
    b = host.vm('b', 12, ['icmp'])
    host.agent.sync()
    assert a.pings(b)
    assert not b.pings(a)
    assert connects(b, a, 80)
    assert not connects(b, a, 81)
    assert not connects(a, b, 80)
    # A VM plugged later is filtered from the agent's next poll on.
    c = host.vm('c', 13, ['web'])
    assert b.pings(c)
    host.agent.poll()
    assert not b.pings(c)
    assert connects(b, c, 80)


def test_rule_change_reaches_established_flows(host: Host) -> None:
    allow = ingress(protocol='tcp', port_range_min=5000, port_range_max=5000)
    host.server.rules = {'srv': EGRESS_ALL + [allow], 'cli': EGRESS_ALL}
    a = host.vm('a', 11, ['cli'])
    b = host.vm('b', 12, ['srv'])
    host.agent.sync()
    stream = Stream(a, b, 5000)
    stream.send('one')
    assert stream.received('one', within=3)

    host.server.rules['srv'] = list(EGRESS_ALL)
    host.agent.security_groups_rule_updated(['srv'])
    stream.send('two')
    assert not stream.received('two', within=1.5)

    host.server.rules['srv'] = EGRESS_ALL + [allow]
    host.agent.security_groups_rule_updated(['srv'])
    # TCP retransmits 'two'; the new rule lets the flow through again.
    assert stream.received('two', within=10)


def test_remote_group_membership_follows_member_updates(host: Host) -> None:
    host.server.rules = {
        'db': EGRESS_ALL + [
            ingress(protocol='icmp', remote_group_id='web'),
            ingress(protocol='tcp', port_range_min=5432,
                    port_range_max=5432, remote_group_id='web')],
        'web': EGRESS_ALL, 'other': EGRESS_ALL}
    a = host.vm('a', 11, ['other'])
    b = host.vm('b', 12, ['db'])
    host.agent.sync()
    assert not a.pings(b)

    a.port['security_groups'] = ['other', 'web']     # a joins web
    host.agent.security_groups_member_updated(['web'])
    assert a.pings(b)
    stream = Stream(a, b, 5432)
    stream.send('one')
    assert stream.received('one', within=3)

    a.port['security_groups'] = ['other']            # and leaves it
    host.agent.security_groups_member_updated(['web'])
    assert not a.pings(b)
    stream.send('two')
    assert not stream.received('two', within=1.5)

    # A port created in web is a member; deleted, it is not any more.
    c = host.vm('c', 13, ['web'])
    host.agent.poll()
    host.agent.security_groups_member_updated(['web'])
    assert c.pings(b)
    del host.server.ports[c.port['id']]
    host.agent.security_groups_member_updated(['web'])
    assert not c.pings(b)


def test_spoofing_vm_reaches_no_one(host: Host) -> None:
    host.server.rules = {'open': OPEN}
    a = host.vm('a', 11, ['open'])
    b = host.vm('b', 12, ['open'])
    host.agent.sync()
    assert a.pings(b)

    a.sh('ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:99:99:99')
    assert not a.pings(b)
    a.sh('ip', 'link', 'set', 'eth0', 'address', a.mac)
    assert a.pings(b)

    a.sh('ip', 'addr', 'add', f'{host.subnet}.99/24', 'dev', 'eth0')
    assert not a.pings(b, source=f'{host.subnet}.99')
    a.sh('ip', 'addr', 'replace', f'{host.subnet}.98/24', 'dev', 'eth0')
    assert not a.pings(b, source=f'{host.subnet}.98')

    serve_dhcp(host, a)
    assert not gets_lease(b)


def test_port_security_off_lets_everything_pass(host: Host) -> None:
    a = host.vm('a', 11, [])
    b = host.vm('b', 12, [])
    for vm in (a, b):
        vm.port['port_security_enabled'] = False
    host.agent.sync()
    assert set(host.driver.ports) == {a.port['id'], b.port['id']}
    assert a.pings(b) and b.pings(a)
    assert connects(a, b, 81)
    a.sh('ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:99:99:99')
    assert a.pings(b)
    serve_dhcp(host, a)
    assert gets_lease(b)

    # Turned on (with a group that lets nothing in), b is closed again.
    host.server.rules = {'closed': []}
    b.port.update(port_security_enabled=True, security_groups=['closed'])
    host.agent.refresh([naming.tap(b.port['id'])])
    assert not a.pings(b)
    # (DHCP replies still reach b, from any server, as in Neutron: only
    # the server's own port security could have stopped a's.)


def test_allowed_address_pair(host: Host) -> None:
    host.server.rules = {'open': OPEN}
    a = host.vm('a', 11, ['open'])
    b = host.vm('b', 12, ['open'])
    a.port['allowed_address_pairs'] = [{'ip_address': f'{host.subnet}.50'},
                                       {'ip_address': f'{host.subnet}.64/28',
                                        'mac_address': 'fa:16:3e:00:00:64'}]
    host.agent.sync()
    for address in ('50', '51', '70'):
        a.sh('ip', 'addr', 'add', f'{host.subnet}.{address}/24', 'dev',
             'eth0')
    assert a.pings(b, source=f'{host.subnet}.50')
    assert not a.pings(b, source=f'{host.subnet}.51')
    # The /28's pair carries another MAC: from the port's own, refused.
    assert not a.pings(b, source=f'{host.subnet}.70')
    a.sh('ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:00:00:64')
    b.sh('ip', 'neigh', 'flush', 'dev', 'eth0')
    assert a.pings(b, source=f'{host.subnet}.70')


def test_rule_deleted_by_hand_is_restored_by_resync(
        host: Host, caplog: pytest.LogCaptureFixture) -> None:
    host.server.rules = {'icmp': EGRESS_ALL + [ingress(protocol='icmp')],
                         'open': EGRESS_ALL}
    a = host.vm('a', 11, ['open'])
    b = host.vm('b', 12, ['icmp'])
    host.agent.sync()
    assert a.pings(b)
    chain = ['inet', host.table, 'sg-icmp-ingress']
    listing = subprocess.run(['nft', '-a', 'list', 'chain', *chain],
                             capture_output=True, text=True, check=True)
    handle = listing.stdout.split('# handle ')[-1].split()[0]
    subprocess.run(['nft', 'delete', 'rule', *chain, 'handle', handle],
                   check=True)
    assert not a.pings(b)

    with caplog.at_level(logging.WARNING):
        repaired = host.agent.check()
    assert repaired == ['chain inet sg-icmp-ingress: 0 rules, should be '
                        '1 (1 restored, 0 removed)']
    assert 'firewall repaired: chain inet sg-icmp-ingress' in caplog.text
    assert a.pings(b)
    assert host.agent.check() == []


def test_egress_rules_bind_the_sender(host: Host) -> None:
    host.server.rules = {
        'out-icmp': [{'direction': 'egress', 'ethertype': 'IPv4',
                      'protocol': 'icmp'}],
        'open': OPEN}
    a = host.vm('a', 11, ['out-icmp'])
    b = host.vm('b', 12, ['open'])
    host.agent.sync()
    assert a.pings(b)
    assert not b.pings(a)
    assert not connects(a, b, 80)
    host.server.rules['out-icmp'].append(
        {'direction': 'egress', 'ethertype': 'IPv4', 'protocol': 'tcp',
         'port_range_min': 80, 'port_range_max': 80,
         'dest_ip_prefix': f'{b.ip}/32'})
    host.agent.security_groups_rule_updated(['out-icmp'])
    assert connects(a, b, 80)
    assert not connects(a, b, 81)


def test_ipv6_neighbour_discovery_and_rules(host: Host) -> None:
    echo6 = ingress(ethertype='IPv6', protocol='ipv6-icmp',
                    port_range_min=128)
    host.server.rules = {'ping6': EGRESS_ALL + [echo6], 'out': EGRESS_ALL}
    a = host.vm('a', 11, ['ping6'])
    b = host.vm('b', 12, ['out'])
    host.agent.sync()
    # Neighbour discovery passes both ways; echo requests only into a.
    assert b.pings(a.ip6)
    assert not a.pings(b.ip6)
    spoofed = b.ip6.replace('::12', '::99')
    b.sh('ip', '-6', 'addr', 'add', f'{spoofed}/64', 'dev', 'eth0',
         'nodad')
    assert not b.pings(a.ip6, source=spoofed)
    b.sh('ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:99:99:99')
    assert not b.pings(a.ip6)


def test_agent_loop_filters_new_taps_and_repairs(host: Host) -> None:
    host.server.rules = {'icmp': EGRESS_ALL + [ingress(protocol='icmp')],
                         'web': EGRESS_ALL}
    a = host.vm('a', 11, ['icmp'])
    stop = threading.Event()
    loop = threading.Thread(target=host.agent.run, args=(stop, 0.1, 0.5))
    loop.start()
    try:
        b = host.vm('b', 12, ['web'])        # plugged while it runs
        wait_for(lambda: b.port['id'] in host.driver.ports, 10,
                 'the new tap filtered by the next poll', interval=0.05)
        assert b.pings(a)
        assert not a.pings(b)
        chain = ['inet', host.table, 'sg-icmp-ingress']
        subprocess.run(['nft', 'flush', 'chain', *chain], check=True)
        wait_for(lambda: 'accept' in subprocess.run(
            ['nft', 'list', 'chain', *chain], capture_output=True,
            text=True).stdout, 10, 'the flushed chain restored',
            interval=0.05)
        assert b.pings(a)
    finally:
        stop.set()
        loop.join()

