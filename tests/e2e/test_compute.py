"""The compute side end to end: `kaon up`, `kaon vm …`, `kaon down`.

One detached `kaon up --demo` (API server + DHCP agent in one process,
SQLite, in-process RPC) serves the whole module; every kaon command runs
as a subprocess (`python -m kaon.cli.main --config-file … ` with KAON_URL),
and every check reads the truth itself: IPs, routes and resolv.conf from
inside the VM namespaces, ports from the REST API, leases from dnsmasq's
lease file.  The VMs are namespaces `kt-vm-<run>-<name>` (a prefix of
their own, so that concurrent runs cannot meet), the networks' bridges
`ktbr…`, the DHCP namespaces `kt-qdhcp-…`.  Teardown deletes the VMs while
the API is up, runs `kaon down`, then kills and removes whatever is left
of this state dir (also when a test failed).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests

from kaon.agent.linux import ip_lib
from tests.e2e.conftest import (
    BRIDGE_PREFIX,
    MADE,
    NS_PREFIX,
    RUN,
    STATE_PREFIX,
    _our_dnsmasqs,
    cleanup,
    leftovers,
)
from tests.support.procs import processes_naming
from tests.support.server import free_port

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO_VMS = ('demo-vm-1', 'demo-vm-2', 'demo-vm-3')
DEMO_GATEWAY = '10.0.0.1'
UP_TIMEOUT = 90.0


def wait_for(predicate: Callable[[], Any], what: str,
             timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout:.0f} s waiting '
                                 f'for {what}')
        time.sleep(interval)


class Kaon:
    """One kaon installation: config, state dir, CLI, REST API."""

    def __init__(self) -> None:
        # conftest's session check looks for dnsmasqs under this prefix.
        self.state = tempfile.mkdtemp(prefix=f'{STATE_PREFIX}{RUN}-')
        tag = uuid.uuid4().hex[:6]
        self.vm_prefix = f'kt-vm-{tag}-'
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.conf = os.path.join(self.state, 'kaon.conf')
        self.log = os.path.join(self.state, 'kaon-up.log')
        self.network_ids: set[str] = set()
        self.taps: set[str] = set()
        with open(self.conf, 'w') as f:
            f.write('\n'.join([
                '[DEFAULT]', f'state_path = {self.state}',
                f'bind_port = {self.port}', f'host = kt-host-{tag}',
                f'dhcp_namespace_prefix = {NS_PREFIX}',
                f'bridge_prefix = {BRIDGE_PREFIX}',
                f'vm_namespace_prefix = {self.vm_prefix}',
                'report_interval = 2', 'vm_boot_timeout = 20', '']))
        self.http = requests.Session()

    # -- the CLI -------------------------------------------------------
    def run(self, *args: str, timeout: float = 150
            ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, '-m', 'kaon.cli.main', '--config-file',
             self.conf, *args], capture_output=True, text=True, cwd=ROOT,
            timeout=timeout, env=dict(os.environ, KAON_URL=self.url))

    def ok(self, *args: str, timeout: float = 150) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, (
            f'kaon {" ".join(args)} exited {result.returncode}\n'
            f'stdout: {result.stdout}\nstderr: {result.stderr}\n'
            f'log tail: {self.log_tail()}')
        return result.stdout

    def vm_list(self) -> list[dict]:
        return json.loads(self.ok('vm', 'list', '-f', 'json') or '[]')

    # -- kaon up / down --------------------------------------------------
    def log_text(self, offset: int = 0) -> str:
        try:
            with open(self.log, errors='replace') as f:
                f.seek(offset)
                return f.read()
        except OSError:
            return ''

    def log_tail(self, lines: int = 30) -> str:
        return '\n'.join(self.log_text().splitlines()[-lines:])

    def up(self, vms_with_leases: int = len(DEMO_VMS)) -> None:
        """`kaon up --demo --detach`, then wait until its status line says
        `vms_with_leases` VMs hold leases (only lines this run wrote)."""
        offset = os.path.getsize(self.log) if os.path.exists(self.log) \
            else 0
        self.ok('up', '--demo', '--detach')
        want = f'{vms_with_leases} VMs with leases'
        pattern = re.compile(rf'(?<!\d){want}')
        try:
            wait_for(lambda: pattern.search(self.log_text(offset)),
                     f'"{want}" in {self.log}', timeout=UP_TIMEOUT,
                     interval=0.2)
        except AssertionError as err:
            raise AssertionError(f'{err}\n{self.log_text(offset)[-3000:]}'
                                 ) from None
        self.network_ids |= {n['id'] for n in self.get('networks')}

    def pid(self) -> int | None:
        try:
            with open(os.path.join(self.state, 'kaon-up.pid')) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return None
        return pid if os.path.exists(f'/proc/{pid}') else None

    def down(self) -> str:
        return self.ok('down')

    # -- the REST API ------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None,
            expect: int | None = None) -> Any:
        resp = self.http.request(method, f'{self.url}/v2.0/{path}',
                                 json=body, timeout=30)
        if expect is not None:
            assert resp.status_code == expect, \
                f'{method} {path}: {resp.status_code} {resp.text}'
        return resp.json() if resp.content else None

    def get(self, collection: str, **params: Any) -> list[dict]:
        resp = self.http.get(f'{self.url}/v2.0/{collection}',
                             params=params, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()[collection]

    def network(self, name: str, cidr: str, **subnet: Any
                ) -> tuple[dict, dict]:
        net = self.api('POST', 'networks', {'network': {'name': name}},
                       expect=201)['network']
        self.network_ids.add(net['id'])
        sub = self.api('POST', 'subnets', {'subnet': dict(
            network_id=net['id'], cidr=cidr, ip_version=4, **subnet)},
            expect=201)['subnet']
        return net, sub

    def dhcp_port(self, network_id: str) -> dict:
        """The network's DHCP port once the agent has made it (ACTIVE)."""
        def ready() -> dict | None:
            ports = self.get('ports', network_id=network_id,
                             device_owner='network:dhcp')
            return ports[0] if ports and ports[0]['fixed_ips'] else None
        return wait_for(ready, f'the DHCP port of {network_id}')

    def vm_ports(self) -> dict[str, dict]:
        """The VMs' ports by name (kaon names a VM's port after it)."""
        ports = self.get('ports', device_owner='compute:nova')
        self.taps |= {'tap' + p['id'][:11] for p in ports}
        return {p['name']: p for p in ports}

    # -- teardown --------------------------------------------------------
    def destroy(self) -> None:
        """Everything this installation made goes, whatever state it is
        in: VMs through kaon while the API answers, then `kaon down`, then
        by hand what is left (processes, namespaces, links, files)."""
        try:
            if self.pid() is not None:
                try:
                    self.vm_ports()
                    self.network_ids |= {n['id']
                                         for n in self.get('networks')}
                except Exception:       # noqa: BLE001 - API may be gone
                    pass
                self.run('vm', 'delete', '--all', timeout=120)
                # only then: kaon down also deletes every unused bridge
                # with our prefix, other runs' included
                self.run('down', timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for pid in processes_naming(self.state):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        vms = os.path.join(self.state, 'vms')
        for name in os.listdir(vms) if os.path.isdir(vms) else []:
            try:
                with open(os.path.join(vms, name, 'vm.json')) as f:
                    self.taps.add(json.load(f)['tap'])
            except (OSError, ValueError, KeyError):
                pass
        vm_namespaces = [n for n in ip_lib.list_namespaces()
                         if n.startswith(self.vm_prefix)]
        made = cleanup(
            self.state, vm_namespaces +
            [NS_PREFIX + n for n in self.network_ids],
            sorted(self.taps) +
            [BRIDGE_PREFIX + n[:11] for n in self.network_ids])
        for name in os.listdir('/etc/netns') if os.path.isdir(
                '/etc/netns') else []:
            if name.startswith(self.vm_prefix):
                shutil.rmtree(os.path.join('/etc/netns', name),
                              ignore_errors=True)
        MADE.update(made)
        left = leftovers(made, self.state)
        shutil.rmtree(self.state, ignore_errors=True)
        assert not left, f'left behind: {left}'


# -- what the VM itself holds -------------------------------------------------

def ns_ipv4(namespace: str) -> list[str]:
    """The IPv4 addresses of eth0 in `namespace`, read with iproute2."""
    out = subprocess.run(['ip', '-n', namespace, '-4', '-o', 'addr', 'show',
                          'dev', 'eth0'], capture_output=True, text=True)
    return re.findall(r'inet (\d+\.\d+\.\d+\.\d+)/', out.stdout)


def ns_default_gateway(namespace: str) -> str | None:
    out = subprocess.run(['ip', '-n', namespace, '-4', 'route', 'show',
                          'default'], capture_output=True, text=True)
    found = re.search(r'default via (\S+) dev eth0', out.stdout)
    return found.group(1) if found else None


def ns_nameservers(namespace: str) -> list[str]:
    try:
        with open(f'/etc/netns/{namespace}/resolv.conf') as f:
            return re.findall(r'^nameserver\s+(\S+)', f.read(), re.M)
    except OSError:
        return []


def namespaces_with(prefix: str) -> set[str]:
    return {n for n in ip_lib.list_namespaces() if n.startswith(prefix)}


def links() -> set[str]:
    return set(ip_lib.list_devices())


def bridge_ports(bridge: str) -> set[str]:
    return set(ip_lib.bridge_ports(bridge)) if bridge in links() else set()


def lease_macs(kaon: Kaon, network_id: str) -> set[str]:
    try:
        with open(os.path.join(kaon.state, 'dhcp', network_id,
                               'leases')) as f:
            return {line.split()[1] for line in f if len(line.split()) > 2}
    except OSError:
        return set()


def check_vms_hold_their_ports(kaon: Kaon, names: list[str], gateway: str,
                               dns: list[str] | None = None) -> dict:
    """Every VM's eth0 has exactly its port's IP (the port read through
    GET /v2.0/ports/<id>), its default route goes to `gateway` and its
    resolv.conf lists `dns`.  Returns {name: (port id, mac, ip)}."""
    ports = kaon.vm_ports()
    assert set(names) <= set(ports), (sorted(names), sorted(ports))
    seen = {}
    for name in names:
        port = kaon.api('GET', f"ports/{ports[name]['id']}",
                        expect=200)['port']
        want = [ip['ip_address'] for ip in port['fixed_ips']]
        namespace = kaon.vm_prefix + name
        assert ns_ipv4(namespace) == want, (name, ns_ipv4(namespace), want)
        assert ns_default_gateway(namespace) == gateway, name
        if dns is not None:
            assert ns_nameservers(namespace) == dns, \
                (name, ns_nameservers(namespace), dns)
        assert port['status'] == 'ACTIVE', (name, port['status'])
        seen[name] = (port['id'], port['mac_address'], want[0])
    return seen


@pytest.fixture(scope='module')
def kaon() -> Iterator[Kaon]:
    installation = Kaon()
    try:
        installation.up()
        yield installation
    finally:
        installation.destroy()


@pytest.fixture(scope='module')
def net(kaon: Kaon) -> tuple[dict, dict]:
    """A network of this module's own, with DNS servers set."""
    return kaon.network('kt-compute', '10.51.0.0/24',
                        gateway_ip='10.51.0.1',
                        dns_nameservers=['10.51.0.53', '10.51.0.54'])


def demo_expectations(kaon: Kaon) -> tuple[str, list[str]]:
    """The demo subnet's gateway, and the DNS servers a VM must get: the
    subnet's if set, else dnsmasq offers itself (the DHCP port's IP)."""
    subnet = kaon.get('subnets', name='demo-subnet')[0]
    if subnet['dns_nameservers']:
        return subnet['gateway_ip'], subnet['dns_nameservers']
    dhcp = kaon.dhcp_port(subnet['network_id'])
    return subnet['gateway_ip'], [ip['ip_address']
                                  for ip in dhcp['fixed_ips']]


def test_up_demo_vms_hold_their_ports_ips(kaon):
    gateway, dns = demo_expectations(kaon)
    assert gateway == DEMO_GATEWAY
    seen = check_vms_hold_their_ports(kaon, list(DEMO_VMS), gateway, dns)
    assert len({ip for _, _, ip in seen.values()}) == len(DEMO_VMS)


def check_down_left_nothing(kaon: Kaon, demo_net: str) -> None:
    assert kaon.pid() is None
    assert not namespaces_with(kaon.vm_prefix)
    assert NS_PREFIX + demo_net not in ip_lib.list_namespaces()
    here = links()
    assert BRIDGE_PREFIX + demo_net[:11] not in here
    assert not kaon.taps & here, sorted(kaon.taps & here)
    assert not processes_naming(kaon.state), processes_naming(kaon.state)


def test_up_down_twice_same_vms_same_ips(kaon):
    gateway, dns = demo_expectations(kaon)
    demo_net = kaon.get('networks', name='demo-net')[0]['id']
    before = check_vms_hold_their_ports(kaon, list(DEMO_VMS), gateway, dns)
    for cycle in (1, 2):
        out = kaon.down()
        assert 'kaon stopped' in out, out
        check_down_left_nothing(kaon, demo_net)
        kaon.up()
        after = check_vms_hold_their_ports(kaon, list(DEMO_VMS), gateway,
                                           dns)
        assert after == before, f'cycle {cycle}: {after} != {before}'
        assert sorted(vm['Name'] for vm in kaon.vm_list()) == \
            sorted(DEMO_VMS)


def test_console_log_reboot_show(kaon, net):
    network, _ = net
    name = 'solo'
    kaon.ok('vm', 'boot', name, '--network', network['name'])
    try:
        _, mac, ip = check_vms_hold_their_ports(
            kaon, [name], '10.51.0.1', ['10.51.0.53', '10.51.0.54'])[name]
        console = kaon.ok('vm', 'console-log', name)
        assert f'lease of {ip} obtained' in console, console

        shown = json.loads(kaon.ok('vm', 'reboot', name, '-f', 'json'))
        assert shown['ip_vm'] == ip
        assert ns_ipv4(kaon.vm_prefix + name) == [ip]
        console = kaon.ok('vm', 'console-log', name)
        assert console.count(f'lease of {ip} obtained') == 2, console

        shown = json.loads(kaon.ok('vm', 'show', name, '-f', 'json'))
        port = kaon.vm_ports()[name]
        assert shown == {
            'name': name, 'id': port['device_id'],
            'network': network['id'], 'mac': mac, 'ip_db': ip,
            'ip_vm': ip, 'lease_left': shown['lease_left'],
            'state': 'ACTIVE', 'port_id': port['id'],
            'namespace': kaon.vm_prefix + name,
            'tap': 'tap' + port['id'][:11]}
        assert re.fullmatch(r'\d+s', shown['lease_left']), shown
        assert 0 < int(shown['lease_left'][:-1]) <= 86400
    finally:
        kaon.run('vm', 'delete', name)


# -- boot errors: nova's _create_port list, nothing left behind ---------------

def _fill(kaon: Kaon, network_id: str) -> None:
    """Take every free IP of the network with plain ports."""
    for _ in range(64):
        resp = kaon.http.post(f'{kaon.url}/v2.0/ports', json={'port': {
            'network_id': network_id}}, timeout=30)
        if resp.status_code == 409:
            assert 'IpAddressGenerationFailure' in resp.text, resp.text
            return
        assert resp.status_code == 201, resp.text
    raise AssertionError('the /29 never ran out of addresses')


ERRORS = ['FixedIpAlreadyInUse', 'PortLimitExceeded', 'NoMoreFixedIps',
          'PortInUse', 'NetworkNotFound']


@pytest.mark.parametrize('kind', ERRORS)
def test_boot_error_leaves_nothing_behind(kaon, net, kind):
    network, _ = net
    name = f'bad-{kind.lower()}'
    args = ['vm', 'boot', name, '--network', network['name']]
    restore_quota = None
    if kind in ('FixedIpAlreadyInUse', 'PortInUse'):
        taken = kaon.api('POST', 'ports', {'port': {
            'network_id': network['id'], 'name': f'kt-taken-{kind}'}},
            expect=201)['port']
        args += ['--fixed-ip', taken['fixed_ips'][0]['ip_address']] \
            if kind == 'FixedIpAlreadyInUse' else \
            ['--mac-address', taken['mac_address']]
    elif kind == 'PortLimitExceeded':
        # noauth admin requests create everything in project 'admin'
        restore_quota = kaon.api('GET', 'quotas/admin',
                                 expect=200)['quota']['port']
        in_use = len(kaon.get('ports', project_id='admin'))
        kaon.api('PUT', 'quotas/admin', {'quota': {'port': in_use}},
                 expect=200)
    elif kind == 'NoMoreFixedIps':
        small, _ = kaon.network('kt-small', '10.52.0.0/29')
        kaon.dhcp_port(small['id'])   # the agent's port takes one first
        _fill(kaon, small['id'])
        args[4] = small['id']
    elif kind == 'NetworkNotFound':
        args[4] = 'kt-no-such-network'

    bridges = {BRIDGE_PREFIX + n[:11] for n in kaon.network_ids}
    ports_before = {p['id'] for p in kaon.get('ports')}
    bridge_ports_before = {b: bridge_ports(b) for b in bridges}
    vm_namespaces_before = namespaces_with(kaon.vm_prefix)
    try:
        result = kaon.run(*args)
    finally:
        if restore_quota is not None:
            kaon.api('PUT', 'quotas/admin',
                     {'quota': {'port': restore_quota}}, expect=200)

    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith('kaon: '), result.stderr
    assert kind in lines[0], lines[0]
    assert {p['id'] for p in kaon.get('ports')} == ports_before
    assert namespaces_with(kaon.vm_prefix) == vm_namespaces_before
    assert kaon.vm_prefix + name not in ip_lib.list_namespaces()
    assert not os.path.exists(f'/etc/netns/{kaon.vm_prefix}{name}')
    assert {b: bridge_ports(b) for b in bridges} == bridge_ports_before
    assert name not in {vm['Name'] for vm in kaon.vm_list()}
    assert not os.path.exists(os.path.join(kaon.state, 'vms', name))


# -- many VMs, then delete --all ----------------------------------------------

def test_twenty_vms_then_delete_all(kaon, net):
    network, _ = net
    count = 20
    names = [f'n-{i}' for i in range(1, count + 1)]
    out = kaon.ok('vm', 'boot', 'n', '--network', network['name'],
                  '--count', str(count), '-f', 'json')
    booted = json.loads(out)
    assert sorted(vm['Name'] for vm in booted) == sorted(names), out
    seen = check_vms_hold_their_ports(kaon, names, '10.51.0.1',
                                      ['10.51.0.53', '10.51.0.54'])
    ips = [ip for _, _, ip in seen.values()]
    assert len(set(ips)) == count, sorted(ips)
    macs = {mac for _, mac, _ in seen.values()}
    assert macs <= lease_macs(kaon, network['id'])
    taps = {'tap' + port_id[:11] for port_id, _, _ in seen.values()}
    assert taps <= links()

    kaon.ok('vm', 'delete', '--all')
    deleted = time.monotonic()
    assert not namespaces_with(kaon.vm_prefix), \
        sorted(namespaces_with(kaon.vm_prefix))
    assert not taps & links(), sorted(taps & links())
    assert kaon.get('ports', device_owner='compute:nova') == []
    assert kaon.vm_list() == []
    assert not [n for n in os.listdir('/etc/netns')
                if n.startswith(kaon.vm_prefix)]
    # dnsmasq drops a lease when the agent releases it (dhcp_release).
    left = macs
    while time.monotonic() - deleted < 2.0:
        left = macs & lease_macs(kaon, network['id'])
        if not left:
            break
        time.sleep(0.1)
    if left:
        log = [line for line in kaon.log_text().splitlines()
               if 'release' in line or 'WARNING' in line or 'ERROR' in line]
        dnsmasqs = _our_dnsmasqs(os.path.join(kaon.state, 'dhcp',
                                              network['id']))
        raise AssertionError(
            f'{len(left)} of {count} leases still in the lease file 2 s '
            f'after the delete: {sorted(left)}; dnsmasq pids {dnsmasqs}; '
            f'log: {log[-20:]}')
