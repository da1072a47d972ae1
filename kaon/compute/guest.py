"""The namespace "hypervisor": a VM is a network namespace with one NIC.

What a VM's first boot does on the network, for real: its NIC (`eth0`,
carrying the port's MAC) is a veth whose other end (`tap<port[:11]>`, the
name nova gives it) is a port of the network's bridge, and a real DHCP
client (busybox udhcpc, as in cirros) asks for an address, then configures
eth0, the default route and resolv.conf inside the namespace.  udhcpc keeps
running and renews like a guest would; what it prints is the console log.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from typing import TypedDict

from kaon.agent.linux import ip_lib

NIC = 'eth0'


class Lease(TypedDict):
    """What the guest's DHCP client script records (SCRIPT)."""
    ip: str
    lease: int
    router: str
    dns: str
    at: int

# busybox udhcpc runs this with the event in $1 and the lease in the
# environment ($ip, $mask as a prefix length, $router, $dns, $lease).
# `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over
# /etc/resolv.conf, so writing /etc/resolv.conf here writes the VM's own.
SCRIPT = r"""#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    : > /etc/resolv.conf
    for server in $dns; do echo "nameserver $server" >> /etc/resolv.conf; done
    format='{"ip": "%s", "lease": %s, "router": "%s", '
    format="$format"'"dns": "%s", "at": %s}\n'
    printf "$format" "$ip" "${lease:-0}" "$router" "$dns" "$(date +%s)" \
      > "$KAON_LEASE.tmp"
    mv "$KAON_LEASE.tmp" "$KAON_LEASE"
    ;;
esac
exit 0
"""


class Guest:
    """One VM's namespace, NIC and DHCP client; state under `workdir`."""

    def __init__(self, namespace: str, tap: str, workdir: str) -> None:
        self.namespace = namespace
        self.tap = tap
        self.workdir = workdir
        self.console = os.path.join(workdir, 'console.log')
        self.lease_file = os.path.join(workdir, 'lease.json')
        self.pid_file = os.path.join(workdir, 'udhcpc.pid')
        self.resolv_dir = os.path.join('/etc/netns', namespace)

    def plug(self, bridge: str, mac: str, mtu: int) -> None:
        os.makedirs(self.workdir, exist_ok=True)
        ip_lib.plug_veth(self.namespace, NIC, self.tap, bridge, mac, mtu, [])
        os.makedirs(self.resolv_dir, exist_ok=True)
        open(os.path.join(self.resolv_dir, 'resolv.conf'), 'a').close()

    def start_dhcp(self) -> None:
        """Start the guest's DHCP client, detached, as a booting VM does."""
        script = os.path.join(self.workdir, 'udhcpc.sh')
        with open(script, 'w') as f:
            f.write(SCRIPT)
        os.chmod(script, 0o755)
        for stale in (self.lease_file, self.pid_file):
            if os.path.exists(stale):
                os.unlink(stale)
        with open(self.console, 'a') as console:
            subprocess.Popen(
                ['ip', 'netns', 'exec', self.namespace, 'busybox', 'udhcpc',
                 '-f', '-i', NIC, '-s', script, '-p', self.pid_file,
                 '-t', '30', '-T', '1', '-A', '1'],
                stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                start_new_session=True,
                env={'PATH': os.environ.get('PATH', '/usr/sbin:/usr/bin:'
                                            '/sbin:/bin'),
                     'KAON_LEASE': self.lease_file})

    def lease(self) -> Lease | None:
        """The lease the guest's client last got, as its script recorded."""
        try:
            with open(self.lease_file) as f:
                lease: Lease = json.load(f)
                return lease
        except (OSError, ValueError):
            return None

    def wait_for_lease(self, timeout: float) -> Lease | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lease = self.lease()
            if lease is not None:
                return lease
            time.sleep(0.02)
        return None

    def addresses(self) -> list[str]:
        """The IPv4/IPv6 addresses eth0 really holds (CIDR form)."""
        if not ip_lib.namespace_exists(self.namespace):
            return []
        return ip_lib.device_addresses(NIC, self.namespace)

    def dhcp_pid(self) -> int | None:
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if os.path.exists(f'/proc/{pid}') else None

    def stop_dhcp(self) -> None:
        pid = self.dhcp_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def console_log(self) -> str:
        try:
            with open(self.console) as f:
                return f.read()
        except OSError:
            return ''

    def unplug(self) -> None:
        """Stop the client and remove NIC and namespace (power off)."""
        self.stop_dhcp()
        ip_lib.delete_device(self.tap)
        ip_lib.delete_namespace(self.namespace)
        shutil.rmtree(self.resolv_dir, ignore_errors=True)

    def destroy(self) -> None:
        """Unplug and forget: also the console log and lease."""
        self.unplug()
        shutil.rmtree(self.workdir, ignore_errors=True)
