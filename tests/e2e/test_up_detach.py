"""`kaon up --detach` as the README has a newcomer type it, on a port
that is not 9696 and with no KAON_URL: the command finds kaon through its
configuration, returns once the demo VMs hold their leases (so the next
`kaon vm list` shows all of them), keeps its files to itself, fails fast
with the reason when the background process dies, and checks readiness
behind Keystone too.  A second `kaon up` after `kaon down` shows the demo
VMs with their IPs.

Each test has its own installation (tests/e2e/test_compute.Kaon: its own
state dir, prefixes and port); teardown deletes the VMs, runs `kaon
down` and removes whatever is left, also when the test failed.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from typing import Iterator

import pytest

from tests.e2e.test_compute import DEMO_VMS, Kaon
from tests.support.keystone import Keystone
from tests.support.keystone_cloud import Cloud

pytestmark = pytest.mark.slow


class ConfiguredKaon(Kaon):
    """A Kaon whose commands get no KAON_URL (nor OS_* credentials unless
    given): the configuration (bind_port != 9696) is all they have."""

    def __init__(self) -> None:
        super().__init__()
        self.env = {k: v for k, v in os.environ.items()
                    if k != 'KAON_URL' and not k.startswith('OS_')}

    def run(self, *args: str, timeout: float = 150
            ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, '-m', 'kaon.cli.main', '--config-file',
             self.conf, *args], capture_output=True, text=True,
            timeout=timeout, env=self.env)


@pytest.fixture
def kaon() -> Iterator[ConfiguredKaon]:
    installation = ConfiguredKaon()
    try:
        yield installation
    finally:
        installation.destroy()


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def demo_vms_with_leases(kaon: Kaon) -> dict[str, str]:
    """`kaon vm list`: the demo VMs whose NIC holds the DB's IP."""
    return {vm['Name']: vm['IP (VM)'] for vm in kaon.vm_list()
            if vm['Name'] in DEMO_VMS and vm['IP (VM)']
            and vm['IP (VM)'] == vm['IP (DB)']}


def demo_table_rows(log: str) -> dict[str, str]:
    """The rows of the demo table `kaon up --demo` printed: VM -> the
    rest of its row (MAC, IP, lease left)."""
    rows = {}
    for line in log.splitlines():
        cells = [c.strip() for c in re.split(r'[│|]', line) if c.strip()]
        if cells and cells[0] in DEMO_VMS:
            rows[cells[0]] = ' '.join(cells[1:])
    return rows


def test_up_detach_returns_ready_on_the_configured_port(kaon) -> None:
    started = time.monotonic()
    out = kaon.ok('up', '--demo', '--detach')
    assert f'API http://127.0.0.1:{kaon.port}' in out, out
    # The README's next command: every demo VM already has its lease.
    assert sorted(demo_vms_with_leases(kaon)) == sorted(DEMO_VMS), \
        (time.monotonic() - started, kaon.vm_list(), kaon.log_tail())
    kaon.network_ids |= {n['id'] for n in kaon.get('networks')}

    # Files nobody else reads; the state dir traversable for dnsmasq.
    assert mode(kaon.state) == 0o711
    for name in ('kaon.sqlite', 'kaon-up.log'):
        assert mode(os.path.join(kaon.state, name)) == 0o600, name
    assert mode(os.path.join(kaon.state, 'vms')) == 0o700

    # Down and up again: the demo table shows the VMs' IPs and leases.
    assert 'kaon stopped' in kaon.down()
    offset = os.path.getsize(kaon.log)
    kaon.ok('up', '--demo', '--detach')
    rows = demo_table_rows(kaon.log_text(offset))
    held = demo_vms_with_leases(kaon)
    assert sorted(rows) == sorted(DEMO_VMS), kaon.log_text(offset)
    for name, row in rows.items():
        assert held[name] in row.split(), (name, row)
        assert re.search(r'\b\d+s\b', row), (name, row)


def test_up_detach_fails_fast_with_the_reason(kaon) -> None:
    missing = os.path.join(kaon.state, 'no-such-dir', 'kaon.sqlite')
    with open(kaon.conf, 'a') as f:
        f.write(f'[database]\nconnection = sqlite:///{missing}\n')
    started = time.monotonic()
    result = kaon.run('up', '--detach')
    took = time.monotonic() - started
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('kaon: kaon up exited: '),\
        result.stderr
    assert 'No such file or directory' in lines[0], lines[0]
    assert took < 30, took
    assert kaon.pid() is None


# -- behind Keystone ----------------------------------------------------------

@pytest.fixture
def keystone_kaon(keystone: Keystone
                  ) -> Iterator[tuple[ConfiguredKaon, dict[str, str]]]:
    """A Kaon with auth_strategy = keystone, and the environment of the
    cloud's admin (OS_* variables) for the commands that need a token."""
    cloud = Cloud(keystone)
    installation = ConfiguredKaon()
    try:
        with open(cloud.server.config) as f:
            keystone_sections = f.read().split('[keystone_authtoken]', 1)[1]
        with open(installation.conf) as f:
            text = f.read()
        with open(installation.conf, 'w') as f:
            f.write(text.replace('[DEFAULT]\n',
                                 '[DEFAULT]\nauth_strategy = keystone\n', 1)
                    + '[keystone_authtoken]' + keystone_sections)
        # The API itself: the catalog is the other Keystone tests' to own.
        yield installation, dict(cloud.os_env('admin'),
                                 KAON_URL=installation.url)
    finally:
        try:
            installation.destroy()
        finally:
            cloud.__exit__(None, None, None)


def test_up_detach_checks_readiness_behind_keystone(keystone_kaon) -> None:
    """No credentials, no URL: `GET /` on the configured address is what
    tells the started kaon is ready, token or not."""
    kaon, admin = keystone_kaon
    out = kaon.ok('up', '--detach', timeout=60)
    assert f'API http://127.0.0.1:{kaon.port}' in out, out
    # It is the Keystone-protected kaon that answered: no token, no data.
    assert kaon.http.get(f'{kaon.url}/v2.0/networks',
                         timeout=30).status_code == 401
    kaon.env = admin
    name = f'kt-ks-{kaon.port}'
    kaon.ok('network', 'create', name)
    listed = json.loads(kaon.ok('network', 'list', '-f', 'json'))
    assert name in [n['Name'] for n in listed]
