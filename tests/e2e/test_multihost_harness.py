"""The several-hosts harness itself (tests/support/multihost.py): hosts
reach each other and the server over the underlay, a VXLAN tunnel between
two hosts carries traffic, and closing removes everything, also the
namespaces the hosts' processes made and the processes in them."""
from __future__ import annotations

import os
import subprocess

import pytest

from kaon.agent.linux import ip_lib
from tests.support.multihost import Cluster, Host
from tests.support.underlay import nsenter

pytestmark = pytest.mark.slow

INNER = '10.253.{}.{}'      # the hand-made tunnel's (in namespaces only)


def run_ok(host: Host, *argv: str) -> str:
    result = host.ns.run(*argv)
    assert result.returncode == 0, (argv, result.stderr)
    return result.stdout


def tunnel(host: Host, peer: Host, subnet: int, k: int) -> None:
    """A kernel VXLAN device over the underlay, flooding to `peer` only."""
    run_ok(host, 'ip', 'link', 'add', 'vxlan-4242', 'type', 'vxlan', 'id',
           '4242', 'local', host.address, 'dstport', '4789', 'nolearning',
           'dev', 'ul0')
    run_ok(host, 'ip', 'addr', 'add', f'{INNER.format(subnet, k)}/24', 'dev',
           'vxlan-4242')
    run_ok(host, 'ip', 'link', 'set', 'vxlan-4242', 'up')
    run_ok(host, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev',
           'vxlan-4242', 'dst', peer.address)


def test_hosts_underlay_tunnel_and_cleanup():
    cluster = Cluster().start()
    try:
        a = cluster.add_host('ha', agents=False)
        b = cluster.add_host('hb', agents=False)
        subnet = cluster.underlay.subnet.network_address.packed[2]

        # Each host has its own namespace and address; they reach each
        # other and the root namespace's services over the underlay.
        assert run_ok(a, 'busybox', 'ping', '-c', '1', '-W', '2', b.address)
        listed = a.kaon('network', 'list', '--os-url', cluster.server_url)
        assert listed.returncode == 0, listed.stderr
        assert cluster.rabbit is not None
        amqp = a.ns.run('bash', '-c', f'exec 3<>/dev/tcp/'
                        f'{cluster.underlay.gateway}/{cluster.rabbit.port}')
        assert amqp.returncode == 0, amqp.stderr

        # No tunnel, no inner traffic; a hand-made VXLAN carries it.
        tunnel(a, b, subnet, 1)
        assert a.ns.run('busybox', 'ping', '-c', '1', '-W', '1',
                        INNER.format(subnet, 2)).returncode != 0
        tunnel(b, a, subnet, 2)
        assert run_ok(a, 'busybox', 'ping', '-c', '3', '-i', '0.2', '-W', '2',
                      INNER.format(subnet, 2))
        assert a.vxlan_fdb() == {
            'vxlan-4242': {('00:00:00:00:00:00', b.address)}}
        assert 'vxlan-4242' not in ip_lib.list_devices()

        # What a host's processes make: a namespace of its prefix with a
        # process in it, and that namespace's /etc/netns directory.
        made = a.vm_namespace('kt-probe')
        ip_lib.ensure_namespace(made)
        os.makedirs(f'/etc/netns/{made}', exist_ok=True)
        sleeper = subprocess.Popen(nsenter(made) + ['sleep', '600'],
                                   start_new_session=True)
    except BaseException:
        cluster.close()
        raise
    left = cluster.close()
    sleeper.wait(5)
    assert left == []
    for name in (a.ns.namespace, b.ns.namespace, made):
        assert not ip_lib.namespace_exists(name), name
    assert not os.path.exists(f'/etc/netns/{made}')
    links = ip_lib.list_devices()
    assert cluster.underlay.bridge not in links
    assert not [n for n in links if n.startswith(cluster.underlay.bridge)]
    assert not os.path.exists(a.state)
    assert cluster.server is not None and cluster.server.proc is not None
    assert cluster.server.proc.poll() is not None
    assert cluster.rabbit is not None and cluster.rabbit.root is None
