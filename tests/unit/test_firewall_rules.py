"""The firewall's translation, pure: security group rules and ports to
nftables text, one state to the next as a script, and the flows a change
must cut.  (What the kernel makes of it: tests/e2e/test_firewall.py.)"""
from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kaon.agent.firewall import drift, ports as P, rules as R, script
from kaon.agent.firewall.conntrack import Cut
from kaon.wire import SecurityGroupPort, SecurityGroupRule


def rule(**kw: Any) -> SecurityGroupRule:
    base = {'direction': 'ingress', 'ethertype': 'IPv4'}
    return {**base, **kw}  # type: ignore[return-value]


@pytest.mark.parametrize('given, line', [
    (rule(), 'meta nfproto ipv4 accept'),
    (rule(protocol='tcp', port_range_min=22, port_range_max=22),
     'meta nfproto ipv4 meta l4proto 6 th dport 22 accept'),
    (rule(protocol='udp', port_range_min=5000, port_range_max=5010,
          source_ip_prefix='10.1.2.3/16'),
     'meta nfproto ipv4 ip saddr 10.1.0.0/16 meta l4proto 17 '
     'th dport 5000-5010 accept'),
    (rule(direction='egress', protocol='17', dest_ip_prefix='0.0.0.0/0'),
     'meta nfproto ipv4 meta l4proto 17 accept'),
    (rule(protocol='icmp', port_range_min=8, port_range_max=0),
     'meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 accept'),
    (rule(protocol='icmp', port_range_min=3),
     'meta nfproto ipv4 meta l4proto 1 icmp type 3 accept'),
    (rule(ethertype='IPv6', protocol='icmp', port_range_min=128),
     'meta nfproto ipv6 meta l4proto 58 icmpv6 type 128 accept'),
    (rule(ethertype='IPv6', protocol='ipv6-icmp'),
     'meta nfproto ipv6 meta l4proto 58 accept'),
    (rule(direction='egress', ethertype='IPv6', remote_group_id='g',
          protocol='tcp'),
     'meta nfproto ipv6 ip6 daddr @rg-g-6 meta l4proto 6 accept'),
    (rule(protocol='gre'), 'meta nfproto ipv4 meta l4proto 47 accept'),
    (rule(protocol='any'), 'meta nfproto ipv4 accept'),
])
def test_rule_line(given: SecurityGroupRule, line: str) -> None:
    assert R.rule_line(given) == line


@pytest.mark.parametrize('given', [
    rule(protocol='bogus'), rule(protocol='300'), rule(ethertype='IPv5'),
    rule(ethertype='IPv6', source_ip_prefix='10.0.0.0/8')])
def test_rule_line_refuses(given: SecurityGroupRule) -> None:
    with pytest.raises(R.RuleError):
        R.rule_line(given)


def test_link_local_is_modified_eui64() -> None:
    assert P.link_local('fa:16:3e:00:00:01') == \
        ipaddress.IPv6Address('fe80::f816:3eff:fe00:1')


def test_set_elements_merge_overlaps() -> None:
    assert R.set_elements(['10.0.0.1', '10.0.0.0/24', '10.0.1.5', 'fd00::1'],
                          4) == ['10.0.0.0/24', '10.0.1.5']
    assert R.set_elements(['10.0.0.1', 'fd00::1'], 6) == ['fd00::1']


def port(pid: str, ip: str, groups: list[str],
         **kw: Any) -> SecurityGroupPort:
    made: SecurityGroupPort = {
        'id': pid, 'network_id': 'net', 'device': pid,
        'mac_address': 'fa:16:3e:00:00:01', 'security_groups': groups,
        'fixed_ips': [ip]}
    made.update(kw)  # type: ignore[typeddict-item]
    return made


def test_address_pairs_default_to_the_port_mac_and_add_link_locals() -> None:
    pairs = P.address_pairs(port('p', '10.0.0.5', [], allowed_address_pairs=[
        {'ip_address': '10.0.9.0/24'},
        {'ip_address': '10.0.0.7', 'mac_address': 'FA:16:3E:00:00:07'}]))
    assert pairs == [('fa:16:3e:00:00:01', '10.0.0.5'),
                     ('fa:16:3e:00:00:01', '10.0.9.0/24'),
                     ('fa:16:3e:00:00:07', '10.0.0.7'),
                     ('fa:16:3e:00:00:01', 'fe80::f816:3eff:fe00:1'),
                     ('fa:16:3e:00:00:07', 'fe80::f816:3eff:fe00:7')]


def test_port_elements_bind_addresses_to_macs() -> None:
    found = P.elements(port('p', '10.0.0.5', [], allowed_address_pairs=[
        {'ip_address': '10.0.0.0/24'}, {'ip_address': '10.0.1.7'}]), 7, 'brqn')
    tap, mac = '"tapp"', 'fa:16:3e:00:00:01'
    assert found[('bridge', 'macs')] == {f'{tap} . {mac}': None}
    assert found[('bridge', 'dst_marks')] == {tap: '0x6b000007'}
    # The fixed IP lies in the pair's /24: one interval, no overlap.
    assert set(found[('bridge', 'addr4')]) == {f'{tap} . {mac} . 10.0.1.7'}
    assert set(found[('bridge', 'addr4net')]) == {
        f'{tap} . {mac} . 10.0.0.0/24'}
    assert f'{tap} . {mac} . 0.0.0.0' in found[('bridge', 'arp4')]
    assert found[('inet', 'vm_out')] == {f'"brqn" . {mac}': 'jump o-p'}
    assert found[('inet', 'vm_in')] == {'0x6b000007': 'jump i-p'}


def test_spoof_chain_stops_dhcp_and_router_servers() -> None:
    assert 'udp sport 67 udp dport 68 drop' in P.SPOOF
    assert 'udp sport 547 udp dport 546 drop' in P.SPOOF
    assert 'icmpv6 type 134 drop' in P.SPOOF
    # DHCP discovery is let through before the address check.
    assert P.SPOOF.index('ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp '
                         'sport 68 udp dport 67 accept') < \
        P.SPOOF.index('iifname . ether saddr . ip saddr != @addr4 '
                      'iifname . ether saddr . ip saddr != @addr4net drop')


def test_port_rules_are_stateful_and_end_in_drop() -> None:
    assert P.port_rules('ingress', ['a', 'b']) == [
        'jump always-ingress', 'jump sg-a-ingress', 'jump sg-b-ingress',
        'drop']
    assert P.ALWAYS['ingress'][0] == 'ct state established,related accept'
    assert 'udp sport 67 udp dport 68 accept' in P.ALWAYS['ingress']


TCP22 = rule(protocol='tcp', port_range_min=22, port_range_max=22)


def state() -> script.State:
    made = script.State(
        ports={'p1': port('p1', '10.0.0.1', ['x']),
               'p2': port('p2', '10.0.0.2', ['y'])},
        numbers={'p1': 1, 'p2': 2},
        rules={'x': [TCP22], 'y': [rule(protocol='icmp',
                                        remote_group_id='x')]},
        members={'x': {'IPv4': [['10.0.0.1', None]]}},
        zones={'brqnet': 1})
    return made


def test_full_build_recreates_both_tables() -> None:
    text = script.build('t', state(), None, 'brq')
    assert text.startswith('add table bridge t\ndelete table bridge t\n')
    assert 'add set inet t rg-x-4 { type ipv4_addr; flags interval; }' \
        in text
    assert 'add element inet t vm_in { 0x6b000001 : jump i-p1, ' \
        '0x6b000002 : jump i-p2 }' in text
    assert 'add element inet t zones { "brqnet" : 1 }' in text


def test_rule_change_rewrites_only_its_group() -> None:
    old, new = state(), state()
    new.rules['x'] = [TCP22, rule(protocol='udp')]
    lines = script.build('t', new, old, 'brq').splitlines()
    assert lines == [
        'flush chain inet t sg-x-ingress',
        'add rule inet t sg-x-ingress meta nfproto ipv4 meta l4proto 6 '
        'th dport 22 accept',
        'add rule inet t sg-x-ingress meta nfproto ipv4 meta l4proto 17 '
        'accept',
        'flush chain inet t sg-x-egress']
    assert script.build('t', state(), state(), 'brq') == ''


def test_member_change_only_touches_the_set() -> None:
    old, new = state(), state()
    new.members['x'] = {'IPv4': [['10.0.0.3', None]]}
    assert script.build('t', new, old, 'brq').splitlines() == [
        'delete element inet t rg-x-4 { 10.0.0.1 }',
        'add element inet t rg-x-4 { 10.0.0.3 }']


def test_removed_port_and_unused_group_go() -> None:
    old, new = state(), state()
    del new.ports['p1'], new.numbers['p1']
    lines = script.build('t', new, old, 'brq').splitlines()
    assert 'delete element bridge t filtered { "tapp1" }' in lines
    assert 'delete chain inet t o-p1' in lines
    # Unmapped, then chains deleted; the group's chains after the port's.
    assert lines.index('delete element inet t vm_in { 0x6b000001 }') < \
        lines.index('delete chain inet t i-p1') < \
        lines.index('delete chain inet t sg-x-ingress')


def test_removed_rule_cuts_its_flows() -> None:
    old, new = state(), state()
    new.rules['x'] = []
    assert script.cuts(old, new, 'brq') == [
        Cut(1, 4, frozenset({'10.0.0.1'}), None, True, 6)]


def test_member_leaving_cuts_its_flows_with_the_readers() -> None:
    old, new = state(), state()
    new.members['x'] = {'IPv4': []}
    assert script.cuts(old, new, 'brq') == [
        Cut(1, 4, frozenset({'10.0.0.2'}),
            frozenset({ipaddress.ip_network('10.0.0.1/32')}), True, None)]


def test_cut_matches_direction_protocol_and_remote() -> None:
    cut = Cut(1, 4, frozenset({'10.0.0.2'}),
              frozenset({ipaddress.ip_network('10.0.1.0/24')}), True, 6)
    assert cut.matches(6, '10.0.1.9', '10.0.0.2')
    assert not cut.matches(17, '10.0.1.9', '10.0.0.2')
    assert not cut.matches(6, '10.0.0.2', '10.0.1.9')
    assert not cut.matches(6, '10.0.2.9', '10.0.0.2')


def test_drift_names_what_was_restored() -> None:
    def listing(rules: int) -> list[dict[str, Any]]:
        chain = {'family': 'inet', 'table': 't', 'name': 'c'}
        return ([{'chain': {**chain, 'handle': 1}}] +
                [{'rule': {'family': 'inet', 'chain': 'c', 'handle': 9 + n,
                           'expr': [{'accept': None, 'n': n}]}}
                 for n in range(rules)] +
                [{'set': {'family': 'inet', 'name': 's', 'type': 'ipv4_addr',
                          'elem': ['10.0.0.2', '10.0.0.1'][:rules]}}])
    assert drift.differences(drift.picture(listing(2)),
                             drift.picture(listing(2))) == []
    assert drift.differences(drift.picture(listing(1)),
                             drift.picture(listing(2))) == [
        'chain inet c: 1 rules, should be 2 (1 restored, 0 removed)',
        'set inet s differed']
