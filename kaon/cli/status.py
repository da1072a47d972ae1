"""What `kaon up` shows: the demo's result and a live one-screen status."""
from __future__ import annotations

import glob
import os
import sys
import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from kaon.cli.client import Client, CliError
from kaon.cli.vm import describe
from kaon.compute.boot import BootError, BootRequest, Compute
from kaon.compute.store import Vm
from kaon.conf import CONF

DEMO_NET, DEMO_SUBNET, DEMO_CIDR = 'demo-net', 'demo-subnet', '10.0.0.0/24'


def _find_or_create(api: Client, resource: str, name: str,
                    body: dict[str, Any]) -> dict[str, Any]:
    found = api.list(f'{resource}s', name=name)
    return found[0] if found else api.create(resource, dict(body, name=name))


def demo(compute: Compute, count: int) -> None:
    """demo-net, demo-subnet and `count` VMs, made once and reused."""
    api = compute.api
    net = _find_or_create(api, 'network', DEMO_NET, {})
    _find_or_create(api, 'subnet', DEMO_SUBNET, {
        'network_id': net['id'], 'ip_version': 4, 'cidr': DEMO_CIDR,
        'gateway_ip': '10.0.0.1', 'enable_dhcp': True})
    for name in demo_vm_names(count):
        vm = compute.vms.get(name)
        try:
            if vm is None:
                compute.boot(BootRequest(name, DEMO_NET),
                             timeout=CONF.vm_boot_timeout)
            else:
                _wait_for_lease(compute, vm)
        except BootError as err:
            print(f'kaon: {name}: {err}', file=sys.stderr)
    _print_demo(compute, net['id'])


def demo_vm_names(count: int) -> list[str]:
    return [f'demo-vm-{i}' for i in range(1, count + 1)]


def _wait_for_lease(compute: Compute, vm: Vm) -> None:
    """A VM kaon up powered on again (its DHCP client restarted) gets its
    lease before the demo table shows it, as a booted one does."""
    if compute.vms.guest(vm).wait_for_lease(CONF.vm_boot_timeout) is None:
        raise BootError('DhcpTimeout', 'no lease after power-on; see '
                        f'`kaon vm console-log {vm.name}`')


def _print_demo(compute: Compute, network_id: str) -> None:
    console = Console()
    table = Table('VM', 'MAC', 'IP', 'Lease left', title='demo VMs')
    for vm in compute.vms.all():
        row = describe(compute, vm)
        table.add_row(row['name'], row['mac'], row['ip_vm'],
                      row['lease_left'])
    console.print(table)
    conf_dir = os.path.join(CONF.dhcp_confs, network_id)
    console.print(f'[bold]cat {conf_dir}/host/*[/bold]')
    for path in sorted(glob.glob(os.path.join(conf_dir, 'host', '*'))):
        with open(path) as f:
            print(f.read().rstrip())
    console.print(f'[bold]cat {conf_dir}/leases[/bold]')
    try:
        with open(os.path.join(conf_dir, 'leases')) as f:
            print(f.read().rstrip(), flush=True)
    except OSError:
        print('(no lease file yet)')


def snapshot(api: Client, compute: Compute) -> tuple[str, Table]:
    """One look at everything: a summary line and a table."""
    agents = api.list('agents')
    networks = api.list('networks')
    ports = api.list('ports')
    vms = [describe(compute, vm) for vm in compute.vms.all()]
    leased = sum(1 for vm in vms if vm['ip_vm'])
    summary = (f"{sum(a['alive'] for a in agents)}/{len(agents)} agents "
               f"alive, {len(networks)} networks, {len(ports)} ports, "
               f"{leased} VMs with leases")
    table = Table('VM', 'IP (DB)', 'IP (VM)', 'Lease left', 'State',
                  title=summary)
    for vm in vms:
        table.add_row(vm['name'], vm['ip_db'], vm['ip_vm'], vm['lease_left'],
                      vm['state'])
    return summary, table


def watch(api: Client, compute: Compute, stop: threading.Event) -> None:
    """Refresh every second until `stop`; without a terminal (detached),
    log the summary line whenever it changes instead."""
    if sys.stdout.isatty():
        with Live(refresh_per_second=2, screen=False) as live:
            while not stop.wait(1):
                live.update(_render(api, compute))
        return
    last = None
    while not stop.wait(1):
        try:
            summary, _ = snapshot(api, compute)
        except CliError:
            continue
        if summary != last:
            print(summary, flush=True)
            last = summary


def _render(api: Client, compute: Compute) -> Any:
    try:
        _, table = snapshot(api, compute)
        return Group(table, '[dim]Ctrl-C stops kaon (the database stays)'
                            '[/dim]')
    except CliError as err:
        return f'status unavailable: {err}'
