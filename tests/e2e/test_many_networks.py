"""No cliff at ~128 networks: one agent serves 200 on a host whose
fs.inotify.max_user_instances starts at the kernel default (128).

Every dnsmasq takes one inotify instance; past the limit a new one exits
with "failed to create inotify: Too many open files".  The agent must raise
the limit before it starts them (and say so), so that every network has a
running dnsmasq, its DHCP port ACTIVE, and a VM on the last one its lease.
The test restores the host's limit whatever happens.
"""
from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest

from tests.e2e.conftest import BRIDGE_PREFIX, NS_PREFIX, _our_dnsmasqs, cleanup
from tests.support.agent import wait_for
from tests.support.api import Api
from tests.support.server import KaonServer
from tests.support.vm import Vms

pytestmark = pytest.mark.slow

NETWORKS = 200
KERNEL_DEFAULT = 128
SERVED_WITHIN = 240         # seconds, for all of them on 2 busy cores
INSTANCES = '/proc/sys/fs/inotify/max_user_instances'


def read_limit() -> int:
    with open(INSTANCES) as f:
        return int(f.read())


def write_limit(value: int) -> None:
    with open(INSTANCES, 'w') as f:
        f.write(f'{value}\n')


@pytest.fixture
def kernel_default_limit() -> Iterator[None]:
    old = read_limit()
    write_limit(KERNEL_DEFAULT)
    try:
        yield
    finally:
        write_limit(old)


def active_dhcp_ports(api: Api) -> int:
    return sum(p['status'] == 'ACTIVE' for p in
               api.list('port', device_owner='network:dhcp'))


def test_one_agent_serves_200_networks_past_the_inotify_default(
        kernel_default_limit):
    server = KaonServer(server_args=('--dhcp-agent',), options={
        'host': f'kt-host-{uuid.uuid4().hex[:6]}',
        'dhcp_namespace_prefix': NS_PREFIX, 'bridge_prefix': BRIDGE_PREFIX,
        'report_interval': 2},
        quotas={'network': -1, 'subnet': -1, 'port': -1})
    vms = Vms()
    try:
        server.start()
        api = Api(server.url)
        start = time.monotonic()
        networks = [api.network('10.85.0.0/24')[0] for _ in range(NETWORKS)]
        wait_for(lambda: active_dhcp_ports(api) == NETWORKS, SERVED_WITHIN,
                 f'{NETWORKS} DHCP ports ACTIVE', interval=1)
        served_in = time.monotonic() - start
        assert len(_our_dnsmasqs(server.state)) == NETWORKS
        assert read_limit() > NETWORKS
        log = server.log()
        assert 'Raised fs.inotify.max_user_instances from 128' in log
        assert 'failed to create inotify' not in log

        last = networks[-1]
        port = api.ready_port(last['id'])
        vm = vms(BRIDGE_PREFIX + last['id'][:11], port['mac_address'])
        lease = vm.dhcp()
        assert lease is not None and \
            lease.ip == port['fixed_ips'][0]['ip_address']
        print(f'{NETWORKS} networks served in {served_in:.1f} s')
    finally:
        vms.destroy_all()
        server.stop()
        cleanup(server.state)
        server.remove_state()
