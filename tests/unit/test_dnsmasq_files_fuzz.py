"""Property: whatever network dict the driver is handed, every line it
renders for dnsmasq is well formed (one entry per line, the expected
fields, canonical addresses), and its argv too.

The dicts mix good values with hostile ones (newlines, commas, scope ids,
control bytes, padded or non-canonical addresses, wrong types), as a
broken or bypassed API could hand them to the agent.  Pure rendering: no
dnsmasq, no files.
"""
from __future__ import annotations

import ipaddress
import types
import uuid

from hypothesis import HealthCheck, example, given, settings, strategies as st

from kaon.agent.linux import (
    dnsmasq_files as files,
    dnsmasq_subnets as subnets,
    dnsmasq_values as values,
)
from tests.support.dnsmasq_lines import canonical_ip, check_argv, check_content

CIDRS = ['10.0.0.0/24', '10.1.0.0/30', '10.2.0.5/32', '172.16.0.0/16',
         'fd00::/64', 'fd00:1::/120', 'fd00:2::1/128']
HOSTILE = ['fe80::1%x\ndhcp-host=fa:16:3e:66:66:66,10.0.0.66',
           '10.0.0.5\n', ' 10.0.0.5', '10.0.0.5,10.0.0.6', '10.0.0.05',
           'FD00::5', 'fd00:0::5', '::ffff:10.0.0.5', '10.0.0.0/24 ',
           'a\x00b', '\x1b[31m', 'tag:x,option:router', '', None, 5, True,
           ['10.0.0.5'], {'ip': '10.0.0.5'}, 'fd00::5%eth0', '10.0.0.1%y']
IDS = [str(uuid.UUID(int=i)) for i in range(1, 6)]

hostile = st.sampled_from(HOSTILE) | st.text(
    alphabet='0123456789abcdef.:/%,\n\t\r [] x\x07', max_size=24)


def address_in(cidr: str) -> st.SearchStrategy:
    net = ipaddress.ip_network(cidr)
    return st.integers(0, net.num_addresses - 1).map(
        lambda i: str(net.network_address + i))


# What turns a good value into a hostile one that looks almost the same.
MUTATIONS = [lambda v: f'{v}%x', lambda v: f'{v}%eth0', lambda v: f' {v}',
             lambda v: f'{v}\n', lambda v: f'{v},tag:x',
             lambda v: f'{v}\ndhcp-host=fa:16:3e:66:66:66,10.0.0.66',
             lambda v: str(v).upper(), lambda v: f'{v}\x00', str,
             lambda v: str(v).replace('::', ':0:', 1)]


def spoil(good: st.SearchStrategy) -> st.SearchStrategy:
    """A good value turned hostile, or a hostile one."""
    mutated = st.tuples(good, st.sampled_from(MUTATIONS)).map(
        lambda pair: pair[1](pair[0]))
    return st.one_of(mutated, hostile)


def fields(draw: st.DrawFn, good: dict[str, st.SearchStrategy]) -> dict:
    """Good values, except (half the time) one field spoiled: a spoiled
    field among good ones is what reaches the writers."""
    bad = draw(st.sampled_from([None] * len(good) + list(good)))
    return {name: draw(spoil(strategy) if name == bad else strategy)
            for name, strategy in good.items()}


@st.composite
def subnet(draw: st.DrawFn, subnet_id: str) -> dict:
    cidr = draw(st.sampled_from(CIDRS))
    version = 6 if ':' in cidr else 4
    ip = address_in(cidr)
    body = fields(draw, {
        'id': st.just(subnet_id), 'cidr': st.just(cidr),
        'ip_version': st.just(version), 'gateway_ip': ip | st.none(),
        'dns_nameserver': ip, 'route_destination': st.sampled_from(CIDRS),
        'route_nexthop': ip, 'pool_start': ip, 'pool_end': ip,
        'ipv6_address_mode': st.sampled_from(
            [None, 'slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'])})
    body['enable_dhcp'] = draw(st.sampled_from([True, True, False]))
    body['dns_nameservers'] = [body.pop('dns_nameserver')]
    body['host_routes'] = [{'destination': body.pop('route_destination'),
                            'nexthop': body.pop('route_nexthop')}]
    pool = {'start': body.pop('pool_start'), 'end': body.pop('pool_end')}
    body['allocation_pools'] = draw(st.sampled_from([[]] + [[pool]] * 4))
    return body


@st.composite
def port(draw: st.DrawFn, subnet_list: list[dict]) -> dict:
    fixed = []
    for sub in draw(st.lists(st.sampled_from(subnet_list), max_size=3)
                    if subnet_list else st.just([])):
        cidr = sub['cidr'] if sub['cidr'] in CIDRS else '10.0.0.0/24'
        fixed.append({'subnet_id': sub['id'],
                      'ip_address': address_in(cidr)})
    body = fields(draw, {
        'id': st.uuids().map(str),
        'mac_address': st.binary(min_size=6, max_size=6).map(
            lambda b: ':'.join(f'{x:02x}' for x in b)),
        'opt_name': st.sampled_from(['bootfile-name', 'mtu', '66',
                                     'tftp-server']),
        'opt_value': st.sampled_from(['pxelinux.0', '1400',
                                      '10.0.0.1,10.0.0.2']),
        **{f'ip{i}': f['ip_address'] for i, f in enumerate(fixed)}})
    for i, f in enumerate(fixed):
        f['ip_address'] = body.pop(f'ip{i}')
    body['fixed_ips'] = fixed
    body['device_owner'] = draw(st.sampled_from(['', 'compute:nova',
                                                 'network:dhcp']))
    option = {'opt_name': body.pop('opt_name'),
              'opt_value': body.pop('opt_value'),
              'ip_version': draw(st.sampled_from([4, 6]))}
    body['extra_dhcp_opts'] = draw(st.sampled_from([[], [option]]))
    return body


@st.composite
def network(draw: st.DrawFn) -> dict:
    subnet_list = [draw(subnet(sid)) for sid in
                   draw(st.lists(st.sampled_from(IDS), max_size=3,
                                 unique=True))]
    mtu = st.integers(68, 9000) | st.none()
    return {'id': IDS[0], 'mtu': draw(st.one_of(mtu, mtu, spoil(mtu))),
            'subnets': subnet_list,
            'ports': draw(st.lists(port(subnet_list), max_size=4))}


CONF = types.SimpleNamespace(dhcp_lease_duration=600,
                             dnsmasq_lease_max=2 ** 24,
                             dnsmasq_dns_servers=['10.9.9.9'],
                             dns_domain='openstacklocal')


def _known_payloads() -> dict:
    """The issue's payloads, always tried: a scope id on a served IPv6
    subnet (printed back by ipaddress), a newline after it, a comma."""
    v6 = {'id': IDS[1], 'cidr': 'fd00::/64', 'ip_version': 6,
          'enable_dhcp': True, 'gateway_ip': 'fd00::1%x',
          'dns_nameservers': ['fd00::53%y'], 'host_routes': [],
          'allocation_pools': [{'start': 'fd00::2', 'end': 'fd00::ff'}],
          'ipv6_address_mode': 'dhcpv6-stateful'}
    v4 = {**v6, 'id': IDS[2], 'cidr': '10.0.0.0/24', 'ip_version': 4,
          'gateway_ip': '10.0.0.1', 'dns_nameservers': ['10.0.0.53,1.1.1.1'],
          'host_routes': [{'destination': '10.9.0.0/16',
                           'nexthop': '10.0.0.254\ndhcp-host=x'}],
          'allocation_pools': [{'start': '10.0.0.2', 'end': '10.0.0.99'}]}
    ports = [{'id': str(uuid.UUID(int=10 + i)), 'mac_address':
              f'fa:16:3e:00:00:{i:02x}', 'fixed_ips': [
                  {'subnet_id': IDS[1], 'ip_address': ip}]}
             for i, ip in enumerate(['fd00::5%x', 'fd00::6%x\ndhcp-host=y',
                                     'fd00::7%a,b', 'fd00::08', 'FD00::9'])]
    return {'id': IDS[0], 'mtu': 1500, 'subnets': [v6, v4], 'ports': ports}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(network())
@example(_known_payloads())
def test_every_rendered_line_is_well_formed(net):
    plan = subnets.plan(net)
    assert not set(plan.served) & set(plan.unserved)
    served_ports = 0
    for p in net['ports']:
        try:
            content = files.port_files(p, plan.served, CONF.dns_domain)
        except values.Refused:
            continue
        served_ports += 1
        for kind, text in content.items():
            check_content(kind, text)
    check_content('opts', files.subnet_opts(net, plan, CONF.dns_domain))
    check_argv(files.command_line(CONF, plan, '/var/lib/kaon/dhcp/x',
                                  '/var/lib/kaon/dhcp/x/pid', 'ns-0123',
                                  ('dnsmasq', 'nogroup')))
    for mac, ip in files.lease_pairs(net, plan.served):
        values.mac(mac)
        assert ipaddress.ip_address(canonical_ip(ip)).version == 4


@given(st.text(max_size=80))
def test_host_files_read_back_from_disk_never_yield_bad_pairs(content):
    """What dhcp_release gets comes from files that may be corrupt."""
    for mac, ip in files.host_pairs(content):
        values.mac(mac)
        canonical_ip(ip)
    for mac in files.host_macs(content):
        values.mac(mac)
