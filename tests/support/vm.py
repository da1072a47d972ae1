"""A "VM" for data-plane tests: a namespace plugged into a network's bridge.

It stands for a VM booting on the compute side: a veth whose inside end
(`eth0`) carries the port's MAC, whose outside end is a port of the
network's Linux bridge, and a real DHCP client (busybox udhcpc) that asks
for an address.  The udhcpc script only records what the client was given
(it configures nothing), so a test can assert the IP, router, DNS servers,
lease time and options exactly as a VM would see them.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
import uuid

from kaon.agent.linux import ip_lib

VM_PREFIX = 'kt-vm-'
VETH_PREFIX = 'ktv'

# busybox udhcpc calls the script with the event as $1 and what it got in
# the environment (ip, router, dns, lease, mtu, bootfile, staticroutes...).
SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    env > "$KT_LEASE_OUT.tmp"
    echo "event=$1" >> "$KT_LEASE_OUT.tmp"
    mv "$KT_LEASE_OUT.tmp" "$KT_LEASE_OUT"
    ;;
esac
exit 0
"""


@dataclasses.dataclass
class Lease:
    env: dict[str, str]
    seconds: float               # how long udhcpc took

    @property
    def ip(self) -> str:
        return self.env.get('ip', '')

    @property
    def router(self) -> str:
        return self.env.get('router', '')

    @property
    def dns(self) -> list[str]:
        return self.env.get('dns', '').split()

    @property
    def lease_time(self) -> int:
        return int(self.env.get('lease', '0'))


class Vm:
    """One namespace with `eth0` (MAC `mac`) plugged into `bridge`."""

    def __init__(self, bridge: str, mac: str, mtu: int = 1500) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.namespace = VM_PREFIX + suffix
        self.veth = VETH_PREFIX + suffix
        self.bridge = bridge
        self.mac = mac
        self.workdir = tempfile.mkdtemp(prefix='kt-vm-')
        self.script = os.path.join(self.workdir, 'udhcpc.sh')
        with open(self.script, 'w') as f:
            f.write(SCRIPT)
        os.chmod(self.script, 0o755)
        try:
            ip_lib.plug_veth(self.namespace, 'eth0', self.veth, bridge, mac,
                             mtu, [])
        except Exception:
            self.destroy()
            raise

    def dhcp(self, tries: int = 3, requested_ip: str | None = None,
             options: tuple[str, ...] = ('mtu', 'staticroutes', 'bootfile',
                                         'tftp')) -> Lease | None:
        """Run udhcpc once: DISCOVER (`tries` times, 1 s apart) ... ACK.

        None when no lease came (no offer, or a NAK).  udhcpc sends no
        DHCPRELEASE on exit, so the lease stays in dnsmasq's lease file.
        """
        out = os.path.join(self.workdir, 'lease')
        if os.path.exists(out):
            os.unlink(out)
        cmd = ['ip', 'netns', 'exec', self.namespace, 'busybox', 'udhcpc',
               '-i', 'eth0', '-n', '-q', '-f', '-t', str(tries), '-T', '1',
               '-s', self.script]
        if requested_ip:
            cmd += ['-r', requested_ip]
        for option in options:
            cmd += ['-O', option]
        start = time.monotonic()
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=tries * 2 + 10,
                                env={'PATH': os.environ.get('PATH', ''),
                                     'KT_LEASE_OUT': out})
        took = time.monotonic() - start
        if result.returncode != 0 or not os.path.exists(out):
            return None
        with open(out) as f:
            env = dict(line.rstrip('\n').split('=', 1) for line in f
                       if '=' in line)
        return Lease(env=env, seconds=took)

    def destroy(self) -> None:
        ip_lib.delete_device(self.veth)
        ip_lib.delete_namespace(self.namespace)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Vms:
    """Every VM a test made, destroyed together (also when it failed)."""

    def __init__(self) -> None:
        self.vms: list[Vm] = []
        self.made: list[Vm] = []        # also the ones destroyed already

    def __call__(self, bridge: str, mac: str, mtu: int = 1500) -> Vm:
        vm = Vm(bridge, mac, mtu)
        self.vms.append(vm)
        self.made.append(vm)
        return vm

    def destroy_all(self) -> None:
        for vm in self.vms:
            vm.destroy()
        self.vms.clear()
