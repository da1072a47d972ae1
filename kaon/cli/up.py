"""`kaon up` (the all-in-one, embedded) and `kaon down`.

`kaon up` migrates the SQLite database, runs the API server, a DHCP
agent, a firewall agent and an L2 agent in this process over the
in-process transport, powers on the VMs it had, and shows a live status
until Ctrl-C, which stops the dnsmasqs and keeps the database for next
time.  `--demo` adds demo-net, demo-subnet and
three VMs.  `--detach` runs the same in the background and returns once it
is ready (the demo VMs hold their leases, the API answers where the
configuration binds it); `kaon down` stops it and removes the namespaces,
veths, bridges and dnsmasqs it made.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

import requests

from kaon import naming, state_files
from kaon.agent.linux import ip_lib, process
from kaon.cli import common, services, status
from kaon.cli.client import CliError, configured_url
from kaon.cli.common import Subparsers
from kaon.cli.services import service_logging
from kaon.cli.vm import compute_for
from kaon.conf import CONF

DEMO_VMS = 3
READY_TIMEOUT = 60.0
READY_POLL = 0.1


def _pid_file() -> str:
    return os.path.join(CONF.state_path, 'kaon-up.pid')


def _ready_file() -> str:
    """Holds the pid of a `kaon up` once it serves (and, with --demo, once
    its demo VMs are up): what `kaon up --detach` waits for."""
    return os.path.join(CONF.state_path, 'kaon-up.ready')


def _read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _running_pid() -> int | None:
    pid = _read_pid(_pid_file())
    return pid if pid and process.pid_alive(pid) else None


def _write_pid(path: str) -> None:
    with open(path + '.tmp', 'w') as f:
        f.write(str(os.getpid()))
    os.replace(path + '.tmp', path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _up(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise CliError('kaon up makes namespaces and bridges: run it as root')
    if _running_pid():
        raise CliError(f'kaon up is already running (pid {_running_pid()});'
                       ' `kaon down` stops it')
    state_files.state_dir(CONF.state_path)
    if args.detach:
        return _detach(args)
    service_logging(args)
    from kaon.service import database, segments
    from kaon.service.embedded import Embedded
    database.upgrade()
    segments.prepare()
    with services.api_port_errors():
        embedded = Embedded(CONF, with_firewall_agent=True,
                            with_l2_agent=True).start()
    _write_pid(_pid_file())
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        compute = compute_for(args)
        compute.vms.prepare()
        for vm in compute.vms.all():
            compute.resume(vm)
        if args.demo:
            status.demo(compute, DEMO_VMS)
        _write_pid(_ready_file())
        status.watch(common.client_for(args), compute, stop)
    finally:
        embedded.stop(stop_dhcp=True)
        _remove(_ready_file())
        _remove(_pid_file())
    return 0


def _detach(args: argparse.Namespace) -> int:
    """Start `kaon up` in its own session; return once it says it is ready
    (its demo VMs hold their leases) and the API answers where the
    configuration binds it, or fail with the reason it exited."""
    common.client_for(args)              # a failed login starts nothing
    services.check_api_port()            # nor does a port already taken
    _remove(_ready_file())
    log_path = os.path.join(CONF.state_path, 'kaon-up.log')
    with state_files.open_private_log(log_path) as log:
        offset = log.tell()
        cmd = [sys.executable, '-m', 'kaon.cli.main',
               *[f'--config-file={f}' for f in args.config_file], 'up']
        if args.demo:
            cmd.append('--demo')
        cmd += [f'--{opt}={value}' for opt, value in (
            ('os-url', args.os_url), ('os-cloud', args.os_cloud)) if value]
        proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True)
    _wait_ready(proc, log_path, offset, _ready_timeout(args.demo))
    print(f'kaon up running in the background (pid {proc.pid}); '
          f'API {configured_url()}; log: {log_path}; stop it with '
          '`kaon down`')
    if args.demo:
        return _check_demo(args)
    return 0


def _ready_timeout(demo: bool) -> float:
    """Start-up, plus each demo VM's two boot stages (port, lease)."""
    return READY_TIMEOUT + (2 * DEMO_VMS * CONF.vm_boot_timeout if demo
                            else 0)


def _wait_ready(proc: subprocess.Popen[bytes], log_path: str, offset: int,
                timeout: float) -> None:
    url = configured_url() + '/'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f'kaon up exited: {_last_line(log_path, offset)}'
                           f' (log: {log_path})')
        if _read_pid(_ready_file()) == proc.pid and _answers(url):
            return
        time.sleep(READY_POLL)
    raise CliError(f'kaon up (pid {proc.pid}) was not ready at {url} '
                   f'within {timeout:.0f} s; see {log_path}')


def _answers(url: str) -> bool:
    """GET / answers without a token, with Keystone too (the version
    document is public, as Neutron's is)."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _last_line(path: str, offset: int) -> str:
    """What a process that died last said: a one-line kaon error, or a
    traceback's final line (the exception)."""
    with open(path, errors='replace') as f:
        f.seek(offset)
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else 'it printed nothing'


def _check_demo(args: argparse.Namespace) -> int:
    """Whether every demo VM holds its lease, as `kaon vm list` will say."""
    compute = compute_for(args)
    missing = [name for name in status.demo_vm_names(DEMO_VMS)
               if (vm := compute.vms.get(name)) is None
               or not compute.vms.guest(vm).addresses()]
    if missing:
        raise CliError(f"{', '.join(missing)} got no lease; see "
                       '`kaon vm console-log NAME` and the log')
    return 0


def _down(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise CliError('kaon down removes namespaces: run it as root')
    pid = _running_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            if not os.path.exists(f'/proc/{pid}'):
                break
            time.sleep(0.1)
        else:
            raise CliError(f'kaon up (pid {pid}) did not stop within 30 s')
    compute = compute_for(args)
    vms = compute.vms.all()
    for vm in vms:
        compute.power_off(vm)
    # Only the bridges of this kaon's VMs: the agent already removed the
    # bridges of the networks it served when kaon up stopped, and other
    # bridges with the same prefix are not ours to touch.
    bridges = {naming.bridge(CONF.bridge_prefix, vm.network_id)
               for vm in vms}
    removed = [b for b in sorted(bridges) if ip_lib.delete_bridge_if_unused(b)]
    print(f'kaon stopped; {len(vms)} VMs powered off, '
          f'{len(removed)} bridges removed (the database is kept)')
    return 0


def register(sub: Subparsers) -> None:
    up = common.add_command(
        sub, 'up', _up, 'run kaon all-in-one here: API server, DHCP agent, '
        'VMs, with a live status', ['sudo kaon up --demo',
                                    'sudo kaon up --detach'], prints=False)
    up.add_argument('--demo', action='store_true',
                    help='create demo-net, demo-subnet 10.0.0.0/24 and boot '
                         f'{DEMO_VMS} VMs')
    up.add_argument('--detach', action='store_true',
                    help='run in the background (stop with kaon down)')
    common.add_command(sub, 'down', _down, 'stop a background kaon up and '
                       'remove what it made on this host',
                       ['sudo kaon down'], prints=False)
