"""`kaon vm` as a Keystone user: a project member boots a VM on a
Keystone-protected kaon and the VM gets its port's IP.

kaon runs as `kaon server --dhcp-agent` (API + DHCP agent in one process)
behind the session's real Keystone; every command is the `kaon` CLI with
the member's OS_* password credentials (and KAON_URL: the session's other
tests own the catalog entry).  The port is the member's, unbound (a member
may not set binding:host_id; nova would bind it with its own service
account), and invisible to the other project.
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Iterator

import pytest

from kaon.agent.linux import ip_lib
from tests.e2e.conftest import BRIDGE_PREFIX, MADE, NS_PREFIX, cleanup
from tests.e2e.test_compute import ns_ipv4
from tests.support.keystone import Keystone
from tests.support.keystone_cloud import Cloud

pytestmark = pytest.mark.slow
TAG = uuid.uuid4().hex[:6]
VM_PREFIX = f'kt-vm-{TAG}-'


@pytest.fixture(scope='module')
def cloud(keystone: Keystone) -> Iterator[Cloud]:
    with Cloud(keystone, options={
            'host': f'kt-host-{TAG}', 'dhcp_namespace_prefix': NS_PREFIX,
            'bridge_prefix': BRIDGE_PREFIX, 'vm_namespace_prefix': VM_PREFIX,
            'report_interval': 2, 'vm_boot_timeout': 20},
            server_args=('--dhcp-agent',)) as c:
        try:
            yield c
        finally:
            vms = [n for n in ip_lib.list_namespaces()
                   if n.startswith(VM_PREFIX)]
            c.server.stop()
            MADE.update(cleanup(c.server.state, namespaces=vms))


def kaon(cloud: Cloud, who: str, *args: str,
         check: bool = True) -> subprocess.CompletedProcess:
    env = dict(cloud.os_env(who), KAON_URL=cloud.url)
    result = subprocess.run(
        [sys.executable, '-m', 'kaon.cli.main', '--config-file',
         cloud.server.config, *args], env=env, capture_output=True,
        text=True, timeout=150)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr,
                                        cloud.server.log()[-3000:])
    return result


def test_a_member_boots_a_vm_that_gets_its_ports_ip(cloud: Cloud) -> None:
    kaon(cloud, 'alice', 'network', 'create', f'kt-net-{TAG}')
    kaon(cloud, 'alice', 'subnet', 'create', f'kt-sub-{TAG}', '--network',
         f'kt-net-{TAG}', '--subnet-range', '10.61.0.0/24')
    kaon(cloud, 'alice', 'vm', 'boot', 'vm1', '--network', f'kt-net-{TAG}')
    try:
        ports = json.loads(kaon(cloud, 'alice', 'port', 'list',
                                '--device-owner', 'compute:nova', '-f',
                                'json').stdout)
        assert len(ports) == 1, ports
        port = cloud.api('alice').show('port', ports[0]['ID'])
        ip = port['fixed_ips'][0]['ip_address']
        assert port['project_id'] == cloud.people['alice'].project_id
        assert port['status'] == 'ACTIVE'
        assert ns_ipv4(VM_PREFIX + 'vm1') == [ip]
        assert cloud.api('admin').show('port', port['id'])[
            'binding:host_id'] == ''
        bob = cloud.api('bob')
        bob.error(bob.get(f"/v2.0/ports/{port['id']}"), 404, 'PortNotFound')
        assert kaon(cloud, 'bob', 'vm', 'boot', 'vm2', '--network',
                    f'kt-net-{TAG}', check=False).returncode == 1
    finally:
        kaon(cloud, 'alice', 'vm', 'delete', 'vm1')
    assert VM_PREFIX + 'vm1' not in ip_lib.list_namespaces()
    assert cloud.api('alice').list('ports', params={
        'device_owner': 'compute:nova'}) == []
