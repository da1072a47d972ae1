"""`kaon up` (the all-in-one, embedded) and `kaon down`.

`kaon up` migrates the SQLite database, runs the API server and a DHCP
agent in this process over the in-process transport, powers on the VMs it
had, and shows a live status until Ctrl-C, which stops the dnsmasqs and
keeps the database for next time.  `--demo` adds demo-net, demo-subnet and
three VMs.  `--detach` runs the same in the background; `kaon down` stops
it and removes the namespaces, veths, bridges and dnsmasqs it made.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from kaon.agent.linux import ip_lib
from kaon.cli import common, status
from kaon.cli.services import service_logging
from kaon.cli.client import CliError
from kaon.cli.vm import compute_for
from kaon.conf import CONF

DEMO_VMS = 3


def _pid_file() -> str:
    return os.path.join(CONF.state_path, 'kaon-up.pid')


def _running_pid() -> int | None:
    try:
        with open(_pid_file()) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists(f'/proc/{pid}') else None


def _up(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise CliError('kaon up makes namespaces and bridges: run it as root')
    if _running_pid():
        raise CliError(f'kaon up is already running (pid {_running_pid()});'
                       ' `kaon down` stops it')
    if args.detach:
        return _detach(args)
    service_logging(args)
    from kaon.api.server import open_database
    from kaon.db import migrate
    from kaon.embedded import Embedded
    os.makedirs(CONF.state_path, exist_ok=True)
    migrate.upgrade(open_database().engine)
    embedded = Embedded(CONF).start()
    with open(_pid_file(), 'w') as f:
        f.write(str(os.getpid()))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        compute = compute_for(args)
        for vm in compute.vms.all():
            compute.resume(vm)
        if args.demo:
            status.demo(compute, DEMO_VMS)
        status.watch(common.client_for(args), compute, stop)
    finally:
        embedded.stop(stop_dhcp=True)
        os.unlink(_pid_file())
    return 0


def _detach(args: argparse.Namespace) -> int:
    """Start `kaon up` in its own session; return once the API answers."""
    client = common.client_for(args)     # a failed login starts nothing
    os.makedirs(CONF.state_path, exist_ok=True)
    log = open(os.path.join(CONF.state_path, 'kaon-up.log'), 'a')
    cmd = [sys.executable, '-m', 'kaon.cli.main',
           *[f'--config-file={f}' for f in args.config_file], 'up']
    if args.demo:
        cmd.append('--demo')
    cmd += [f'--{opt}={value}' for opt, value in (
        ('os-url', args.os_url), ('os-cloud', args.os_cloud)) if value]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    for _ in range(600):
        if proc.poll() is not None:
            raise CliError(f'kaon up exited; see {log.name}')
        try:
            client.request('GET', 'networks')
            print(f'kaon up running in the background (pid {proc.pid}); '
                  f'log: {log.name}; stop it with `kaon down`')
            return 0
        except CliError:
            time.sleep(0.1)
    raise CliError(f'kaon up did not answer within 60 s; see {log.name}')


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
    bridges = {CONF.bridge_prefix + vm.network_id[:11] for vm in vms}
    removed = [b for b in sorted(bridges) if ip_lib.delete_bridge_if_unused(b)]
    print(f'kaon stopped; {len(vms)} VMs powered off, '
          f'{len(removed)} bridges removed (the database is kept)')
    return 0


def register(sub: argparse._SubParsersAction) -> None:
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
