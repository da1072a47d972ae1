"""The dnsmasq driver's files against drift, and dnsmasq against its files.

Real dnsmasq, namespaces, bridges and busybox udhcpc (see
test_dnsmasq_driver.py): files are corrupted, deleted, added behind the
driver's back, and dnsmasq is given a state tree under a 0700 directory;
what a VM gets from DHCP is what the tests assert.
"""
from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import uuid

import pytest

from tests.e2e.conftest import RUN, STATE_PREFIX, agent_under
from tests.e2e.test_dnsmasq_driver import read, wait_for


def host_line(port: dict) -> str:
    ip = port['fixed_ips'][0]['ip_address']
    return (f"{port['mac_address']},host-{ip.replace('.', '-')}"
            f'.openstacklocal,{ip}\n')


def files_under(root: str) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file kaon wrote (not dnsmasq's own)."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name not in ('leases', 'pid'):
                st = os.lstat(os.path.join(directory, name))
                found[os.path.join(directory, name)] = (st.st_ino,
                                                        st.st_mtime_ns)
    return found


def dnsmasq_uid(pid: int) -> int:
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('Uid:'):
                return int(line.split()[2])      # effective uid
    raise AssertionError('no Uid line')


def test_corrupt_and_deleted_host_files_are_repaired(agent):
    net, _ = agent.network('10.51.30.0/24')
    corrupt, deleted = agent.port(net['id']), agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    vm1, vm2 = agent.vm(corrupt), agent.vm(deleted)
    assert vm1.dhcp() is not None and vm2.dhcp() is not None
    hups = agent.sighups(net['id'])

    with open(driver.path('host', corrupt['id']), 'ab') as f:
        f.write(b'\xff\xfe not utf-8\n')
    os.unlink(driver.path('host', deleted['id']))

    repairs = agent.driver(net['id']).check_files()
    assert sorted(repairs) == [
        f"restored missing host/{deleted['id']}",
        f"rewrote corrupt host/{corrupt['id']}"]
    assert read(driver.path('host', corrupt['id'])) == host_line(corrupt)
    assert read(driver.path('host', deleted['id'])) == host_line(deleted)
    # dnsmasq read the corrupt file: it is made to read them all again.
    assert wait_for(lambda: agent.sighups(net['id']) == hups + 1, 3)
    for vm, port in ((vm1, corrupt), (vm2, deleted)):
        ip = port['fixed_ips'][0]['ip_address']
        assert vm.dhcp(requested_ip=ip).ip == ip          # renews
    newcomer = agent.port(net['id'])
    agent.driver(net['id']).update_ports([newcomer])
    assert agent.vm(newcomer).dhcp().ip == \
        newcomer['fixed_ips'][0]['ip_address']


def test_a_corrupt_file_does_not_block_the_network(agent):
    """A non-UTF-8 byte used to make every later change of the network
    fail (the driver decoded the old file); now it is just rewritten."""
    net, _ = agent.network('10.51.31.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    with open(driver.path('host', port['id']), 'ab') as f:
        f.write(b'\x80\n')

    agent.driver(net['id']).reload_allocations()
    assert read(driver.path('host', port['id'])) == host_line(port)
    newcomer = agent.port(net['id'])
    agent.driver(net['id']).update_ports([newcomer])
    assert agent.vm(newcomer).dhcp().ip == \
        newcomer['fixed_ips'][0]['ip_address']
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']


def test_extra_and_foreign_files_are_removed(agent):
    net, _ = agent.network('10.51.32.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    stranger_mac = 'fa:16:3e:51:32:99'
    extra = str(uuid.uuid4())
    with open(driver.path('host', extra), 'w') as f:    # dnsmasq reads it
        f.write(f'{stranger_mac},10.51.32.99\n')
    stranger = agent.vms(agent.bridge(net['id']), stranger_mac)
    assert wait_for(lambda: stranger.dhcp(tries=1) is not None, 3)
    with open(driver.path('opts', '.leftover.tmp'), 'w') as f:
        f.write('junk\n')
    os.mkdir(driver.path('addn_hosts', 'a-directory'))
    os.unlink(driver.path('addn_hosts', port['id']))
    os.symlink('/etc/passwd', driver.path('addn_hosts', port['id']))
    hups = agent.sighups(net['id'])

    repairs = agent.driver(net['id']).check_files()
    assert sorted(repairs) == sorted([
        f'removed extra host/{extra}', 'removed extra opts/.leftover.tmp',
        'removed extra addn_hosts/a-directory',
        f"rewrote foreign addn_hosts/{port['id']}"])
    assert sorted(os.listdir(driver.path('host'))) == [port['id']]
    assert not os.path.islink(driver.path('addn_hosts', port['id']))
    # The stranger's entry is dropped from dnsmasq's memory by the reload.
    assert wait_for(lambda: agent.sighups(net['id']) > hups, 3)
    assert stranger.dhcp(tries=1) is None
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']


def test_check_on_an_unchanged_network_writes_nothing(agent):
    net, _ = agent.network('10.51.33.0/24')
    ports = [agent.port(net['id'], extra_dhcp_opts=[
        {'opt_name': 'bootfile-name', 'opt_value': 'pxelinux.0'}])] + \
        [agent.port(net['id']) for _ in range(3)]
    driver = agent.driver(net['id'])
    driver.enable()
    before = files_under(driver.conf_dir)
    pid, hups = driver.process_manager().pid, agent.sighups(net['id'])
    # 4 host, 5 addn_hosts (the DHCP port's too), 1 port's opts, the
    # subnets' opts and the interface name.
    assert len(before) == 4 + 5 + 1 + 1 + 1

    assert agent.driver(net['id']).check_files() == []
    assert driver.check_files() == []
    # Touched with the same bytes: compared, not rewritten, not reported.
    os.utime(driver.path('host', ports[1]['id']), ns=(10 ** 18, 10 ** 18))
    before = files_under(driver.conf_dir)
    assert driver.check_files() == []
    assert files_under(driver.conf_dir) == before
    assert driver.process_manager().pid == pid
    assert agent.sighups(net['id']) == hups
    assert agent.vm(ports[0]).dhcp().env['bootfile'] == 'pxelinux.0'
    # The same check does see a change of the bytes, and only that file
    # is rewritten.
    with open(driver.path('opts', ports[0]['id']), 'a') as f:
        f.write(f"tag:port-{ports[0]['id']},option:mtu,9000\n")
    assert driver.check_files() == [f"rewrote corrupt opts/{ports[0]['id']}"]
    after = files_under(driver.conf_dir)
    assert {p for p in before if before[p] != after[p]} == {
        driver.path('opts', ports[0]['id'])}


def test_dnsmasq_drops_root_and_the_files_are_not_world_readable(agent):
    net, _ = agent.network('10.51.34.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']
    assert dnsmasq_uid(driver.process_manager().pid) != 0
    # The state dir was mkdtemp's 0700: kaon let dnsmasq through its own
    # directory, and nothing more.
    assert stat.S_IMODE(os.stat(agent.state_path).st_mode) == 0o711
    modes = {}
    for directory, dirs, names in os.walk(driver.conf_dir):
        for name in dirs + names:
            modes[name] = stat.S_IMODE(os.lstat(
                os.path.join(directory, name)).st_mode)
    assert modes['leases'] == 0o640 and modes['host'] == 0o750
    assert modes[port['id']] == 0o640
    assert not [n for n, m in modes.items() if m & 0o007 and n != 'pid']


@pytest.fixture
def private_agent():
    """An agent whose state_path is inside a `mktemp -d` directory (0700,
    root's): dnsmasq's own user cannot reach it."""
    parent = tempfile.mkdtemp(prefix=f'{STATE_PREFIX}{RUN}-')
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o700
    os.mkdir(os.path.join(parent, 'state'), 0o750)
    with agent_under(parent, os.path.join(parent, 'state')) as env:
        yield env


def test_state_path_under_a_0700_directory_is_served(private_agent,
                                                     caplog):
    agent = private_agent
    net, _ = agent.network('10.51.35.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    with caplog.at_level(logging.WARNING):
        driver.enable()
    assert agent.vm(port).dhcp().ip == port['fixed_ips'][0]['ip_address']
    argv = driver.process_manager().cmdline()
    assert '--user=root' in argv
    parent = os.path.dirname(agent.state_path)
    assert any(parent in r.getMessage() and 'not searchable' in
               r.getMessage() for r in caplog.records)
    assert driver.check_files() == []
    newcomer = agent.port(net['id'])
    agent.driver(net['id']).update_ports([newcomer])
    assert agent.vm(newcomer).dhcp().ip == \
        newcomer['fixed_ips'][0]['ip_address']


def test_a_replaced_hostsdir_gets_dnsmasq_restarted(agent):
    """dnsmasq watches a directory once: a recreated one is not watched,
    so new files there would never be read.  The check sees the watch is
    gone (in /proc/<pid>/fdinfo) and restarts dnsmasq."""
    net, _ = agent.network('10.51.36.0/24')
    port = agent.port(net['id'])
    driver = agent.driver(net['id'])
    driver.enable()
    pid = driver.process_manager().pid
    shutil.rmtree(driver.path('host'))

    repairs = agent.driver(net['id']).check_files()
    assert f"restored missing host/{port['id']}" in repairs
    assert 'restarted dnsmasq: it did not watch its directories' in repairs
    assert driver.process_manager().pid != pid
    newcomer = agent.port(net['id'])
    agent.driver(net['id']).update_ports([newcomer])
    assert agent.vm(newcomer).dhcp().ip == \
        newcomer['fixed_ips'][0]['ip_address']
