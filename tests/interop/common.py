"""What both interop deployments do on the host: wait for a VM's lease
that passes a check, and remove what a test made (also on failure)."""
from __future__ import annotations

from typing import Any, Callable

from tests.e2e.conftest import MADE, cleanup, leftovers
from tests.support.vm import Lease, Vm, Vms

Wait = Callable[[Callable[[], Any], str], Any]


def lease(vm: Vm, check: Callable[[Lease], bool], wait: Wait) -> Lease:
    """udhcpc until the VM gets a lease that passes `check`."""
    def ok() -> Lease | None:
        got = vm.dhcp(tries=2)
        return got if got is not None and check(got) else None
    return wait(ok, f'a lease for {vm.mac}')


def remove_made(state: str, namespaces: list[str], links: list[str],
                vms: Vms) -> list[str]:
    """Kill the dnsmasqs of `state`, delete the namespaces, links and VMs;
    what is still there afterwards."""
    vms.destroy_all()
    made = cleanup(state, namespaces + [vm.namespace for vm in vms.made],
                   links + [vm.veth for vm in vms.made])
    MADE.update(made)
    return leftovers(made, state)
