"""`kaon vm …`: boot, list, show, console-log, reboot and delete VMs.

The VMs are network namespaces on this host (kaon.compute); everything
about their network goes through the API like nova's calls to Neutron.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from rich.progress import Progress

from kaon.cli import common, output
from kaon.cli.client import ApiError, CliError
from kaon.cli.common import Subparsers
from kaon.compute.boot import BootError, BootRequest, Compute
from kaon.compute.store import NoSuchVm, Vm
from kaon.conf import CONF

BOOT_CONCURRENCY = 8
LIST_COLUMNS = [('Name', 'name'), ('ID', 'id'), ('Network', 'network'),
                ('MAC', 'mac'), ('IP (DB)', 'ip_db'), ('IP (VM)', 'ip_vm'),
                ('Lease left', 'lease_left'), ('State', 'state')]


def compute_for(args: argparse.Namespace) -> Compute:
    """The host's compute side; it logs in to the API when first used."""
    return Compute(common.LazyClient(args), CONF, CliError)


def _need_root() -> None:
    if os.geteuid() != 0:
        raise CliError('VMs are network namespaces: this needs root')


def _boot_one(compute: Compute, request: BootRequest) -> Vm:
    try:
        return compute.boot(request, timeout=CONF.vm_boot_timeout)
    except BootError as err:
        raise CliError(f'{request.name}: {err}') from None


def _boot(args: argparse.Namespace) -> int:
    _need_root()
    common.client_for(args)   # log in first: not a failure of each boot
    compute = compute_for(args)
    opts = [dict(o, ip_version=int(o.get('ip_version', 4)))
            for o in args.extra_dhcp_options]
    names = [args.name] if args.count == 1 else \
        [f'{args.name}-{i}' for i in range(1, args.count + 1)]
    requests = [BootRequest(n, args.network, args.fixed_ip, args.mac_address,
                            args.port, opts, args.host) for n in names]
    vms, errors = _boot_all(compute, requests, args.count > 1)
    output.print_list(args, LIST_COLUMNS, [describe(compute, vm)
                                           for vm in vms])
    for error in errors:
        print(f'kaon: {error}', file=sys.stderr)
    return 1 if errors else 0


def _boot_all(compute: Compute, requests: list[BootRequest],
              progress: bool) -> tuple[list[Vm], list[str]]:
    vms, errors = [], []
    with Progress(transient=True, disable=not progress) as bar, \
            ThreadPoolExecutor(BOOT_CONCURRENCY) as pool:
        task = bar.add_task('booting', total=len(requests))
        futures = [pool.submit(_boot_one, compute, r) for r in requests]
        for future in as_completed(futures):
            try:
                vms.append(future.result())
            except CliError as err:
                errors.append(str(err))
            bar.advance(task)
    if len(requests) == 1 and errors:
        raise CliError(errors[0])
    return sorted(vms, key=lambda vm: vm.name), errors


def describe(compute: Compute, vm: Vm) -> dict[str, Any]:
    """What `vm list` shows: the DB's view next to the VM's own."""
    guest = compute.vms.guest(vm)
    try:
        port = compute.api.show('port', vm.port_id)
        ip_db = ', '.join(ip['ip_address'] for ip in port['fixed_ips'])
    except ApiError as err:
        ip_db = '(port gone)' if err.status == 404 else '?'
    except CliError:
        ip_db = '(API down)'
    held = ', '.join(a.split('/')[0] for a in guest.addresses())
    lease = guest.lease()
    left = int(lease['at'] + lease['lease'] - time.time()) if lease else None
    running = guest.dhcp_pid() is not None
    state = 'ACTIVE' if running and held else \
        'NO-LEASE' if running else 'SHUTOFF'
    return {'name': vm.name, 'id': vm.id, 'network': vm.network_id,
            'mac': vm.mac, 'ip_db': ip_db, 'ip_vm': held,
            'lease_left': f'{left}s' if left is not None else '',
            'state': state, 'port_id': vm.port_id,
            'namespace': vm.namespace, 'tap': vm.tap}


def _list(args: argparse.Namespace) -> int:
    compute = compute_for(args)
    output.print_list(args, LIST_COLUMNS,
                      [describe(compute, vm) for vm in compute.vms.all()])
    return 0


def _require(compute: Compute, name: str) -> Vm:
    try:
        return compute.vms.require(name)
    except NoSuchVm as err:
        raise CliError(str(err)) from None


def _show(args: argparse.Namespace) -> int:
    compute = compute_for(args)
    output.print_item(args, describe(compute, _require(compute, args.name)))
    return 0


def _console_log(args: argparse.Namespace) -> int:
    compute = compute_for(args)
    print(compute.vms.guest(_require(compute, args.name)).console_log(),
          end='')
    return 0


def _delete(args: argparse.Namespace) -> int:
    _need_root()
    compute = compute_for(args)
    names = [vm.name for vm in compute.vms.all()] if args.all else args.names
    if args.all and not names:
        print('no VMs to delete')
        return 0
    if not names:
        raise CliError('name the VMs to delete, or --all')
    for name in names:
        _require(compute, name)
        compute.delete(name)
    return 0


def _reboot(args: argparse.Namespace) -> int:
    _need_root()
    compute = compute_for(args)
    _require(compute, args.name)
    if compute.reboot(args.name, CONF.vm_boot_timeout) is None:
        raise CliError(f'{args.name} got no lease after reboot; see '
                       f'`kaon vm console-log {args.name}`')
    output.print_item(args, describe(compute, compute.vms.require(args.name)))
    return 0


def register(sub: Subparsers) -> None:
    vm = common.group(sub, 'vm', 'VMs on this host (network namespaces)')
    boot = common.add_command(
        vm, 'boot', _boot, 'create the port, plug the VM, get its lease',
        ['kaon vm boot web --network demo-net',
         'kaon vm boot db --network demo-net --fixed-ip 10.0.0.50',
         'kaon vm boot many --network demo-net --count 20',
         'kaon vm boot web2 --network demo-net --host compute-2'])
    boot.add_argument('name')
    boot.add_argument('--network', required=True, help='name or ID')
    boot.add_argument('--fixed-ip', help='the IPv4 address to ask for')
    boot.add_argument('--mac-address', help='the MAC to ask for')
    boot.add_argument('--port', help='boot on an existing port (name or ID)')
    boot.add_argument('--host', help="the host the VM runs on, its port's "
                      'binding:host_id (default: this host, the `host` '
                      'option); run the command on that host')
    boot.add_argument('--count', type=int, default=1,
                      help='boot NAME-1 … NAME-N, 8 at a time')
    boot.add_argument('--extra-dhcp-option', dest='extra_dhcp_options',
                      action='append', default=[], metavar='name=N,value=V',
                      type=common.key_values(
                          {'name': 'opt_name', 'value': 'opt_value',
                           'ip-version': 'ip_version'},
                          required=('opt_name', 'opt_value')))
    common.add_command(vm, 'list', _list, 'the VMs: IP in the DB and in the '
                       'VM, lease, state', ['kaon vm list'])
    for name, func, text in (
            ('show', _show, 'one VM in detail'),
            ('reboot', _reboot, 'restart the DHCP client: same IP again')):
        common.add_command(vm, name, func, text,
                           [f'kaon vm {name} web']).add_argument('name')
    common.add_command(vm, 'console-log', _console_log,
                       "what the VM's DHCP client printed",
                       ['kaon vm console-log web'], prints=False
                       ).add_argument('name')
    delete = common.add_command(
        vm, 'delete', _delete, 'delete VMs: port, lease, namespace',
        ['kaon vm delete web', 'kaon vm delete --all'], prints=False)
    delete.add_argument('names', nargs='*')
    delete.add_argument('--all', action='store_true')
