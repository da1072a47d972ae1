"""The dnsmasq driver does not trust the network it is given.

Values go straight into the network-info dict, bypassing the API (which
refuses them): what a bug or a future API path could hand the agent.  With
real dnsmasq and udhcpc, the tests assert that nothing hostile reaches a
file or dnsmasq's argv, that what cannot be served is left out alone, and
that the rest of the network keeps being served.
"""
from __future__ import annotations

import logging
import os
import uuid

from kaon.agent.linux.dnsmasq import Dnsmasq
from tests.e2e.test_dnsmasq_driver import wait_for
from tests.support.dnsmasq_lines import check_argv, check_tree

STRANGER = 'fa:16:3e:66:66:66'
INJECT = f'\ndhcp-host={STRANGER},10.51.44.66'


def driver_for(agent, network: dict) -> Dnsmasq:
    return agent.dhcp.driver(network)


def subnet(cidr: str, **extra: object) -> dict:
    """A subnet as get_network_info gives it, made up (not in the DB)."""
    body = {'id': str(uuid.uuid4()), 'cidr': cidr, 'enable_dhcp': True,
            'ip_version': 6 if ':' in cidr else 4, 'gateway_ip': None,
            'dns_nameservers': [], 'host_routes': [], 'allocation_pools':
            [{'start': cidr.split('/')[0], 'end': cidr.split('/')[0]}]}
    return {**body, **extra}


def everything_written(driver: Dnsmasq) -> str:
    chunks = []
    for directory, _, names in os.walk(driver.conf_dir):
        for name in names:
            if name not in ('pid', 'leases'):
                with open(os.path.join(directory, name), 'rb') as f:
                    chunks.append(f.read().decode())
    return ''.join(chunks)


def test_unservable_subnets_are_left_out_and_the_rest_is_served(agent,
                                                                 caplog):
    net, good = agent.network('10.51.40.0/24')
    port = agent.port(net['id'])
    agent.driver(net['id']).enable()
    vm = agent.vm(port)
    ip = port['fixed_ips'][0]['ip_address']
    assert vm.dhcp().ip == ip
    bad = {'/32': subnet('10.51.41.7/32'),
           'pools': subnet('10.51.42.0/24', allocation_pools=[]),
           'mtu': subnet('fd00:51:43::/64', gateway_ip='fd00:51:43::1',
                         ipv6_address_mode='dhcpv6-stateful',
                         allocation_pools=[{'start': 'fd00:51:43::2',
                                            'end': 'fd00:51:43::ff'}])}

    def info() -> dict:
        network = agent.info(net['id'])
        network['subnets'] += list(bad.values())
        network['mtu'] = 1200
        return network

    driver = driver_for(agent, info())
    with caplog.at_level(logging.WARNING):
        # The agent restarts a network whose CIDRs change.
        driver.restart()
        unserved = driver.unserved_subnets
        assert set(unserved) == {s['id'] for s in bad.values()}
        assert 'no address to allocate' in unserved[bad['/32']['id']]
        assert 'no allocation pools' in unserved[bad['pools']['id']]
        assert 'MTU of at least 1280' in unserved[bad['mtu']['id']]
        argv = driver.process_manager().cmdline()
        assert [a for a in argv if a.startswith('--dhcp-range')] == [
            f"--dhcp-range=set:subnet-{good['id']},10.51.40.0,static,"
            '255.255.255.0,600s']
        assert '--dhcp-option-force=option:mtu,1200' in argv
        assert vm.dhcp(requested_ip=ip).ip == ip             # renews

        newcomer = agent.port(net['id'])
        driver_for(agent, info()).update_ports([newcomer])
        assert agent.vm(newcomer).dhcp().ip == \
            newcomer['fixed_ips'][0]['ip_address']
        assert driver_for(agent, info()).check_files() == []
    warnings = [r.getMessage() for r in caplog.records
                if 'is not served by DHCP' in r.getMessage()]
    assert len(warnings) == 3          # one per subnet, not one per call
    assert all(net['id'] in w for w in warnings)


def test_hostile_values_never_reach_a_file(agent, caplog):
    net, sub = agent.network('10.51.44.0/24', dns_nameservers=['10.51.44.53'])
    good = agent.port(net['id'])
    hostile = {name: agent.port(net['id']) for name in (
        'scope id', 'mac', 'opt value', 'opt name', 'padded ip', 'bell')}
    agent.driver(net['id']).enable()
    vm = agent.vm(good)
    ip = good['fixed_ips'][0]['ip_address']
    assert vm.dhcp().ip == ip

    network = agent.info(net['id'])
    ports = {p['id']: p for p in network['ports']}
    by_name = {name: ports[p['id']] for name, p in hostile.items()}
    by_name['scope id']['fixed_ips'][0]['ip_address'] = 'fe80::1%x' + INJECT
    by_name['mac']['mac_address'] = 'fa:16:3e:00:00:01' + INJECT
    by_name['opt value']['extra_dhcp_opts'] = [
        {'opt_name': 'bootfile-name', 'opt_value': 'pxe' + INJECT}]
    by_name['opt name']['extra_dhcp_opts'] = [
        {'opt_name': 'mtu,1400' + INJECT, 'opt_value': '1400'}]
    by_name['padded ip']['fixed_ips'][0]['ip_address'] = \
        ' ' + by_name['padded ip']['fixed_ips'][0]['ip_address']
    by_name['bell']['extra_dhcp_opts'] = [
        {'opt_name': 'bootfile-name', 'opt_value': 'a\x07\x1b[31m'}]
    [target] = [s for s in network['subnets'] if s['id'] == sub['id']]
    target['dns_nameservers'] = ['10.51.44.53', '10.51.44.54' + INJECT]
    target['host_routes'] = [
        {'destination': '10.60.0.0/16', 'nexthop': '10.51.44.254,1.2.3.4'},
        {'destination': '10.61.0.0/16 ', 'nexthop': '10.51.44.254'}]
    target['gateway_ip'] = '10.51.44.1%\x1b'
    network['mtu'] = '1500' + INJECT

    driver = driver_for(agent, network)
    with caplog.at_level(logging.WARNING):
        driver.enable()
    written = everything_written(driver)
    for bad in ('dhcp-host', STRANGER, '%', '\x07', '\x1b', '1.2.3.4'):
        assert bad not in written, bad
    assert check_tree(driver.conf_dir) > 0
    argv = driver.process_manager().cmdline()
    check_argv(argv)
    assert not [a for a in argv if 'dhcp-host=' in a or 'option:mtu' in a]
    # The ports with hostile values are not served (their files go with
    # the next reload), the others are, without the hostile options.
    assert wait_for(lambda: not any(
        os.path.exists(driver.path('host', p['id']))
        for p in hostile.values()), 3)
    lease = vm.dhcp(requested_ip=ip)
    assert (lease.ip, lease.dns, lease.router) == (ip, ['10.51.44.53'], '')
    assert agent.vms(agent.bridge(net['id']), STRANGER).dhcp(tries=1) is None
    assert agent.vm(hostile['opt value']).dhcp(tries=1) is None
    logged = '\n'.join(r.getMessage() for r in caplog.records)
    for name in ('scope id', 'mac', 'opt value', 'opt name', 'padded ip'):
        assert f"port '{hostile[name]['id']}' is not served" in logged, name
    assert f"subnet {sub['id']}: option left out" in logged
