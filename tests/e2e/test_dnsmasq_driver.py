"""The dnsmasq driver against real dnsmasq, namespaces, bridges and udhcpc.

Each test builds networks and ports with kaon's own plugin, lets the driver
serve them, and asks from a "VM" (a namespace on the network's bridge with
the port's MAC) with busybox udhcpc, asserting what a VM would get.
"""
from __future__ import annotations

import os
import signal
import time

from kaon import naming
from kaon.agent.linux import ip_lib, iptables, process
from kaon.agent.linux.dnsmasq import Dnsmasq
from kaon.agent.linux.dnsmasq_backend import DnsmasqBackend
from tests.e2e.conftest import make_conf


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def leases(driver: Dnsmasq) -> str:
    return read(driver.path('leases'))


def test_port_gets_its_ip_router_dns_and_routes(agent):
    net, sub = agent.network(
        '10.51.1.0/24', dns_nameservers=['10.51.1.53', '10.51.1.54'],
        host_routes=[{'destination': '10.60.0.0/16',
                      'nexthop': '10.51.1.254'}])
    port = agent.port(net['id'])
    other = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()

    ip = port['fixed_ips'][0]['ip_address']
    # Seeded before the first start (`<expiry> <mac> <ip> * *`, which
    # dnsmasq rewrites with the host name), so a moved or restarted dnsmasq
    # does not NAK leases clients already hold.
    assert f" {port['mac_address']} {ip} " in leases(driver)
    lease = agent.vm(port).dhcp()
    assert lease is not None
    assert lease.ip == ip
    assert lease.router == '10.51.1.1'
    assert lease.dns == ['10.51.1.53', '10.51.1.54']
    assert lease.lease_time == 600
    assert lease.env['hostname'] == 'host-' + ip.replace('.', '-')
    assert lease.env['domain'] == 'openstacklocal'
    assert lease.env['mtu'] == '1500'
    # RFC 3442: with classless routes the default route must be among them.
    assert lease.env['staticroutes'] == \
        '10.60.0.0/16 10.51.1.254 0.0.0.0/0 10.51.1.1'
    assert agent.vm(other).dhcp().ip == other['fixed_ips'][0]['ip_address']

    # Neutron's formats, one file per port; the DHCP port has no host entry.
    assert read(driver.path('host', port['id'])) == \
        f"{port['mac_address']},host-{ip.replace('.', '-')}" \
        f'.openstacklocal,{ip}\n'
    dhcp_port = driver.device_manager.get_dhcp_port(driver.network)
    assert not os.path.exists(driver.path('host', dhcp_port['id']))
    assert os.path.exists(driver.path('addn_hosts', dhcp_port['id']))
    # The DHCP port is plugged with its MAC and IP, the rule is there.
    device = naming.dhcp_device(dhcp_port['id'])
    assert ip_lib.device_addresses(device, driver.namespace) == \
        [dhcp_port['fixed_ips'][0]['ip_address'] + '/24']
    assert iptables.has_checksum_fill(driver.namespace)


def test_unknown_mac_gets_no_offer(agent):
    net, _ = agent.network('10.51.2.0/24')
    agent.driver(net['id']).enable()
    stranger = agent.vms(agent.bridge(net['id']), 'fa:16:3e:00:51:02')
    assert stranger.dhcp(tries=1) is None


def test_subnet_without_dns_servers_gets_dnsmasq_itself(agent):
    """Neutron's choice: no dns-server option, dnsmasq announces itself."""
    net, sub = agent.network('10.51.3.0/24', gateway_ip=None)
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    dhcp_port = driver.device_manager.get_dhcp_port(driver.network)
    lease = agent.vm(port).dhcp()
    assert lease.dns == [dhcp_port['fixed_ips'][0]['ip_address']]
    assert lease.router == ''          # no gateway: an empty router option


def test_port_added_after_start_is_served_without_sighup(agent):
    net, _ = agent.network('10.51.4.0/24')
    agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    pid, hups = driver.process_manager().pid, agent.sighups(net['id'])
    restarts = agent.restarts(net['id'])

    port = agent.port(net['id'])
    vm = agent.vm(port)
    start = time.monotonic()
    agent.driver(net['id']).update_ports([port])
    lease = vm.dhcp()
    took = time.monotonic() - start
    assert lease.ip == port['fixed_ips'][0]['ip_address']
    assert took < 0.5, f'served after {took:.3f} s'
    time.sleep(agent.conf.bulk_reload_interval + 0.2)
    assert driver.process_manager().pid == pid
    assert agent.sighups(net['id']) == hups
    assert agent.restarts(net['id']) == restarts


def test_removed_port_gets_no_offer_and_its_lease_is_released(agent):
    net, _ = agent.network('10.51.5.0/24')
    port = agent.port(net['id'])
    keep = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    vm = agent.vm(port)
    assert vm.dhcp().ip == port['fixed_ips'][0]['ip_address']
    assert port['mac_address'] in leases(driver)
    hups = agent.sighups(net['id'])

    agent.cloud.delete('port', port['id'])
    start = time.monotonic()
    agent.driver(net['id']).remove_ports([port])
    assert vm.dhcp(tries=1) is None          # one DISCOVER, 1 s: no offer
    assert time.monotonic() - start < 2
    assert wait_for(lambda: port['mac_address'] not in leases(driver), 2)
    # The files go with the next (coalesced) SIGHUP.
    assert wait_for(lambda: agent.sighups(net['id']) == hups + 1, 2)
    assert not any(os.path.exists(driver.path(k, port['id']))
                   for k in ('host', 'addn_hosts', 'opts'))
    assert agent.vm(keep).dhcp().ip == keep['fixed_ips'][0]['ip_address']


def test_many_removals_are_coalesced_into_few_sighups(agent):
    net, _ = agent.network('10.51.6.0/24')
    ports = [agent.port(net['id']) for _ in range(6)]
    agent.driver(net['id']).enable()
    hups = agent.sighups(net['id'])
    for port in ports:
        agent.driver(net['id']).remove_ports([port])
    time.sleep(agent.conf.bulk_reload_interval * 2 + 0.3)
    assert 1 <= agent.sighups(net['id']) - hups <= 2
    driver = agent.driver(net['id'])
    assert not any(os.path.exists(driver.path('host', p['id']))
                   for p in ports)


def test_changed_ip_is_served_on_next_request(agent):
    net, sub = agent.network('10.51.7.0/24')
    port = agent.port(net['id'], fixed_ips=[
        {'subnet_id': sub['id'], 'ip_address': '10.51.7.10'}])
    driver = agent.driver(net['id'])
    driver.enable()
    vm = agent.vm(port)
    assert vm.dhcp().ip == '10.51.7.10'

    port = agent.cloud.update('port', port['id'], fixed_ips=[
        {'subnet_id': sub['id'], 'ip_address': '10.51.7.20'}])
    agent.driver(net['id']).update_ports([port])
    assert vm.dhcp(requested_ip='10.51.7.10').ip == '10.51.7.20'
    # The old lease was released, so its IP is free for another MAC.
    assert wait_for(lambda: '10.51.7.10' not in leases(driver), 2)
    newcomer = agent.port(net['id'], fixed_ips=[
        {'subnet_id': sub['id'], 'ip_address': '10.51.7.10'}])
    agent.driver(net['id']).update_ports([newcomer])
    assert agent.vm(newcomer).dhcp().ip == '10.51.7.10'


def test_extra_dhcp_opts_reach_the_client(agent):
    net, _ = agent.network('10.51.8.0/24')
    port = agent.port(net['id'], extra_dhcp_opts=[
        {'opt_name': 'mtu', 'opt_value': '1400'},
        {'opt_name': 'bootfile-name', 'opt_value': 'pxelinux.0'}])
    plain = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    assert read(driver.path('host', port['id'])).rstrip().endswith(
        f",set:port-{port['id']}")
    vm = agent.vm(port)
    lease = vm.dhcp()
    assert lease.env['mtu'] == '1400'            # the port's, not the net's
    assert lease.env['bootfile'] == 'pxelinux.0'
    lease = agent.vm(plain).dhcp()
    assert lease.env['mtu'] == '1500' and 'bootfile' not in lease.env

    # A changed option needs a reload; with a set: host served, that is a
    # restart (dnsmasq 2.90 crashes on SIGHUP then).
    restarts, hups = agent.restarts(net['id']), agent.sighups(net['id'])
    port = agent.cloud.update('port', port['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': 'grub.efi'}])
    agent.driver(net['id']).update_ports([port])
    assert wait_for(lambda: agent.restarts(net['id']) == restarts + 1, 2)
    assert agent.sighups(net['id']) == hups
    assert vm.dhcp().env['bootfile'] == 'grub.efi'


def test_reload_after_serving_a_tagged_host_keeps_dnsmasq_alive(agent):
    """dnsmasq 2.90 segfaults on SIGHUP once it has served a host entry
    with set: (a port with extra DHCP options); the driver restarts it
    instead.  No process monitor runs here: a crash would stay a crash."""
    net, _ = agent.network('10.51.16.0/24')
    tagged = agent.port(net['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': 'pxelinux.0'}])
    plain = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    vm = agent.vm(tagged)
    assert vm.dhcp().env['bootfile'] == 'pxelinux.0'
    pid, hups = driver.process_manager().pid, agent.sighups(net['id'])

    agent.driver(net['id']).remove_ports([plain])
    assert wait_for(lambda: driver.process_manager().pid not in (None, pid))
    assert driver.active and agent.sighups(net['id']) == hups
    time.sleep(0.5)
    assert driver.active
    lease = vm.dhcp()
    assert lease.ip == tagged['fixed_ips'][0]['ip_address']
    assert lease.env['bootfile'] == 'pxelinux.0'
    assert agent.vm(plain).dhcp(tries=1) is None


def test_two_networks_with_the_same_cidr_side_by_side(agent):
    """Same CIDR, even the same MAC: each namespace serves its network."""
    net1, sub1 = agent.network('10.51.9.0/24')
    net2, sub2 = agent.network('10.51.9.0/24', gateway_ip='10.51.9.254')
    port1 = agent.port(net1['id'], fixed_ips=[
        {'subnet_id': sub1['id'], 'ip_address': '10.51.9.10'}])
    port2 = agent.port(net2['id'], mac_address=port1['mac_address'],
                       fixed_ips=[{'subnet_id': sub2['id'],
                                   'ip_address': '10.51.9.20'}])
    agent.driver(net1['id']).enable()
    agent.driver(net2['id']).enable()
    lease1, lease2 = agent.vm(port1).dhcp(), agent.vm(port2).dhcp()
    assert (lease1.ip, lease1.router) == ('10.51.9.10', '10.51.9.1')
    assert (lease2.ip, lease2.router) == ('10.51.9.20', '10.51.9.254')


def test_killed_dnsmasq_is_respawned_with_its_config(agent):
    net, _ = agent.network('10.51.10.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    agent.monitor.start()
    vm = agent.vm(port)
    assert vm.dhcp() is not None
    pid = driver.process_manager().pid
    os.kill(pid, signal.SIGKILL)

    # The monitor counts a respawn after the new process is up: wait for
    # both, not for the pid alone (it can be seen before the count).
    assert wait_for(lambda: driver.active and
                    driver.process_manager().pid != pid and
                    agent.monitor.respawns >= 1, 5)
    assert not process.pid_alive(pid)                   # reaped, no zombie
    assert vm.dhcp().ip == port['fixed_ips'][0]['ip_address']


def test_disable_removes_everything(agent):
    net, _ = agent.network('10.51.11.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    vm = agent.vm(port)
    pid = driver.process_manager().pid
    tap = 'tap' + driver.interface_name[3:]
    assert ip_lib.device_exists(tap)

    agent.driver(net['id']).disable()
    assert not process.pid_alive(pid)
    assert not ip_lib.namespace_exists(driver.namespace)
    assert not ip_lib.device_exists(tap)
    assert not os.path.exists(driver.conf_dir)
    assert not agent.monitor.is_registered(net['id'], 'dnsmasq')
    assert agent.dhcp.existing_dhcp_networks() == []
    assert not [p for p in agent.cloud.list('port', network_id=net['id'])
                if p['device_owner'] == 'network:dhcp']     # released
    # The VM is still on the bridge, so the bridge stays until it goes.
    assert ip_lib.bridge_ports(agent.bridge(net['id'])) == [vm.veth]
    vm.destroy()
    assert ip_lib.delete_bridge_if_unused(agent.bridge(net['id']))


def test_a_new_driver_adopts_the_running_dnsmasq(agent):
    net, sub = agent.network('10.51.12.0/24')
    port = agent.port(net['id'])
    agent.driver(net['id']).enable()
    driver = agent.driver(net['id'])
    pid, hups = driver.process_manager().pid, agent.sighups(net['id'])

    driver = agent.driver(net['id'])          # an agent restart
    driver.enable()
    assert driver.process_manager().pid == pid
    assert agent.sighups(net['id']) == hups
    assert agent.rpc.calls.count('create_dhcp_port') == 1
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']

    # A new subnet changes dnsmasq's command line: adopting is not enough.
    agent.cloud.create('subnet', network_id=net['id'], cidr='10.52.12.0/24',
                       ip_version=4)
    driver = agent.driver(net['id'])
    driver.enable()
    assert driver.process_manager().pid != pid
    assert len(driver.device_manager.get_dhcp_port(
        driver.network)['fixed_ips']) == 2


def test_reload_allocations_reconciles_with_the_network(agent):
    net, _ = agent.network('10.51.13.0/24')
    gone = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    pid = driver.process_manager().pid
    agent.cloud.delete('port', gone['id'])
    new = agent.port(net['id'])

    agent.driver(net['id']).reload_allocations()
    assert agent.vm(new).dhcp().ip == new['fixed_ips'][0]['ip_address']
    assert agent.vm(gone).dhcp(tries=1) is None
    assert driver.process_manager().pid == pid


def test_restart_keeps_serving(agent):
    net, _ = agent.network('10.51.14.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    pid = driver.process_manager().pid
    agent.driver(net['id']).restart()
    assert driver.process_manager().pid != pid
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']
    assert agent.rpc.calls.count('create_dhcp_port') == 1    # port kept


def test_dual_stack_files_and_command_line(agent):
    net, sub4 = agent.network('10.51.15.0/24')
    sub6 = agent.cloud.create('subnet', network_id=net['id'],
                              cidr='fd00:51:15::/64', ip_version=6,
                              ipv6_address_mode='dhcpv6-stateful',
                              ipv6_ra_mode='dhcpv6-stateful')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    ips = {f['subnet_id']: f['ip_address'] for f in port['fixed_ips']}
    host = read(driver.path('host', port['id']))
    assert f",[{ips[sub6['id']]}]\n" in host
    assert f",{ips[sub4['id']]}\n" in host
    argv = driver.process_manager().cmdline()
    assert f"--dhcp-range=set:subnet-{sub6['id']},fd00:51:15::,static,64," \
        f'600s' in argv
    assert agent.vm(port).dhcp().ip == ips[sub4['id']]


def test_two_agents_in_one_process_keep_their_own_files(agent):
    """Two agents in one process (a multi-host simulation, both hosting
    the network) share nothing of their drivers' state: each writes the
    network's files into its own directory."""
    net, _ = agent.network('10.51.41.0/24')
    port = agent.port(net['id'])
    other_conf = make_conf(os.path.join(agent.state_path, 'other'))
    other = DnsmasqBackend(other_conf, None, None)
    mine = agent.driver(net['id'])
    theirs = other.driver(agent.info(net['id']))

    mine.check_files()            # writes what the network needs
    theirs.check_files()
    assert os.listdir(mine.path('host')) == [port['id']]
    assert os.listdir(theirs.path('host')) == [port['id']]
    assert theirs.path('host') != mine.path('host')
