"""Booting a VM the way nova does it: allocate its port, plug, wait, boot.

nova's allocate_for_instance creates the port through the network API
(device_id = the instance, device_owner compute:<zone>, binding:host_id =
the host the VM boots on) and maps the API's conflicts to its own errors
(seed 000's _create_port): an IP in use is FixedIpAlreadyInUse, an
exhausted pool NoMoreFixedIps, a MAC in use PortInUse, the port quota
PortLimitExceeded.  Then, as nova's libvirt driver does, it plugs the VIF
first (for vif_type bridge, os-vif's linux_bridge plugin: the tap on the
network's bridge) and only then waits for network-vif-plugged, i.e. until
the port is ACTIVE: on a host with an L2 agent the port cannot become
ACTIVE before that agent has seen the tap and wired it, and the DHCP agent
has reported it (dhcp_ready_on_ports).  The guest's DHCP client starts
after that, so its first DHCPDISCOVER is answered.
A failed boot leaves nothing behind: no port, no namespace, no veth.

nova binds the port (binding:host_id) with its own service credentials;
`kaon vm` has only its user's.  A project member may not set the binding
(Neutron's create_port:binding:host_id is admin or service), so for a
member the port stays unbound: nothing on the DHCP path reads a VM port's
binding, and the first refusal is remembered.
"""
from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any, Callable

from kaon import naming
from kaon.compute import store
from kaon.compute.guest import Lease
from kaon.constants import DEVICE_OWNER_COMPUTE

READY_POLL = 0.02
ApiDict = dict[str, Any]        # a resource as the network API shows it

# NeutronError type -> (nova's name for it, how nova words it)
_NOVA_ERRORS = {
    'IpAddressAlreadyAllocated': 'FixedIpAlreadyInUse',
    'IpAddressGenerationFailure': 'NoMoreFixedIps',
    'MacAddressInUse': 'PortInUse',
    'OverQuota': 'PortLimitExceeded',
    'NetworkNotFound': 'NetworkNotFound',
    'InvalidIpForNetwork': 'InvalidInput',
    'InvalidIpForSubnet': 'InvalidInput',
}


class BootError(Exception):
    """A boot that failed: `kind` is nova's error name, str() one line."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f'{kind}: {message}')
        self.kind = kind


def nova_error(api_error: Any, default: str = 'BootFailed') -> BootError:
    kind = _NOVA_ERRORS.get(getattr(api_error, 'type', ''), default)
    return BootError(kind, str(api_error))


@dataclasses.dataclass
class BootRequest:
    name: str
    network: str
    fixed_ip: str | None = None
    mac: str | None = None
    port: str | None = None
    extra_dhcp_opts: list[ApiDict] = dataclasses.field(default_factory=list)
    host: str | None = None     # binding:host_id; None: this host (`host`)


class Compute:
    """The compute side of one host, over an API client and a VM store."""

    def __init__(self, api: Any, conf: Any,
                 api_error: type[Exception]) -> None:
        self.api = api
        self.conf = conf
        self.api_error = api_error
        self.vms = store.VmStore(conf)
        self.may_bind = True

    def boot(self, request: BootRequest, timeout: float = 30.0,
             on_stage: Callable[[str], None] = lambda stage: None
             ) -> store.Vm:
        if self.vms.get(request.name) is not None:
            raise BootError('InstanceExists',
                            f'a VM named {request.name} already exists')
        self.vms.prepare()
        instance_id = str(uuid.uuid4())
        network = self._network(request.network)
        on_stage('port')
        port, created = self._port(request, network, instance_id)
        vm = store.Vm(name=request.name, id=instance_id,
                      network_id=network['id'], port_id=port['id'],
                      mac=port['mac_address'], namespace=self.vms.namespace(
                          request.name), tap=naming.tap(port['id']))
        guest = self.vms.guest(vm)
        try:
            on_stage('plug')
            guest.plug(naming.bridge(self.conf.bridge_prefix, network['id']),
                       port['mac_address'], network['mtu'])
            on_stage('ready')
            self._wait_ready(port, network, timeout)
            guest.start_dhcp()
            on_stage('dhcp')
            if guest.wait_for_lease(timeout) is None:
                raise BootError('DhcpTimeout', f'the VM sent DHCPDISCOVER '
                                f'for {timeout:.0f} s and got no lease; '
                                f'see `kaon vm console-log {request.name}`')
            self.vms.save(vm)
            return vm
        except BaseException:
            guest.destroy()
            if created:
                self._delete_port(port['id'])
            raise

    def _network(self, name_or_id: str) -> ApiDict:
        try:
            network: ApiDict = self.api.find('network', name_or_id)
            return network
        except self.api_error as err:
            raise nova_error(err, default='NetworkNotFound') from None

    def _port(self, request: BootRequest, network: ApiDict,
              instance_id: str) -> tuple[ApiDict, bool]:
        """The VM's port: the given one, bound to it, or a new one."""
        binding = {'device_id': instance_id,
                   'device_owner': DEVICE_OWNER_COMPUTE}
        if self.may_bind:
            binding['binding:host_id'] = request.host or self.conf.host
        try:
            return self._claim_port(request, network, binding)
        except self.api_error as err:
            if self.may_bind and 'binding:host_id' in str(err) and \
                    getattr(err, 'status', None) == 403:
                self.may_bind = False
                return self._port(request, network, instance_id)
            raise nova_error(err) from None

    def _claim_port(self, request: BootRequest, network: ApiDict,
                    binding: ApiDict) -> tuple[ApiDict, bool]:
        if request.port:
            port = self.api.find('port', request.port)
            return self.api.update('port', port['id'], binding), False
        body = dict(binding, network_id=network['id'], name=request.name)
        if request.fixed_ip:
            body['fixed_ips'] = [{'ip_address': request.fixed_ip}]
        if request.mac:
            body['mac_address'] = request.mac
        if request.extra_dhcp_opts:
            body['extra_dhcp_opts'] = request.extra_dhcp_opts
        return self.api.create('port', body), True

    def _wait_ready(self, port: ApiDict, network: ApiDict,
                    timeout: float) -> None:
        """Until the port is ACTIVE (the host's L2 agent wired it, the DHCP
        agent has it); say which stage hung."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.show('port', port['id'])['status'] == 'ACTIVE':
                return
            time.sleep(READY_POLL)
        if not self._network_has_live_agent(network):
            raise BootError('PortNotReady', f"no alive DHCP agent hosts "
                            f"network {network['id']}; is `kaon up` or "
                            f"`kaon dhcp-agent` running?")
        raise BootError('PortNotReady', f"port {port['id']} did not become "
                        f"ACTIVE within {timeout:.0f} s: the DHCP agent did "
                        f"not report it ready, or no L2 agent on host "
                        f"{port.get('binding:host_id') or '?'} wired it")

    def _network_has_live_agent(self, network: ApiDict) -> bool:
        """Whether an alive DHCP agent hosts the network; a member may not
        ask (the scheduler API is the admin's), and then we cannot tell."""
        try:
            agents = self.api.request(
                'GET', f"networks/{network['id']}/dhcp-agents")['agents']
        except self.api_error:
            return True
        return any(a['alive'] for a in agents)

    def _delete_port(self, port_id: str) -> None:
        try:
            self.api.delete('port', port_id)
        except self.api_error:
            pass

    def delete(self, name: str) -> None:
        """Delete the VM: its port first (the agent releases the lease; an
        API that cannot be reached stops here, leaving nothing half-done),
        then its NIC, namespace and record."""
        vm = self.vms.require(name)
        try:
            self.api.delete('port', vm.port_id)
        except self.api_error as err:
            if getattr(err, 'status', None) != 404:
                raise
        self.vms.guest(vm).destroy()
        self.vms.remove(name)

    def resume(self, vm: store.Vm) -> None:
        """Power a VM back on after `kaon down` or a host reboot (nova's
        resume_guests_state_on_host_boot): plug it again and run DHCP."""
        guest = self.vms.guest(vm)
        if guest.dhcp_pid() is not None:
            return
        network = self.api.show('network', vm.network_id)
        guest.plug(naming.bridge(self.conf.bridge_prefix, vm.network_id),
                   vm.mac, network['mtu'])
        guest.start_dhcp()

    def power_off(self, vm: store.Vm) -> None:
        """Stop the guest and unplug it; its port and record stay."""
        self.vms.guest(vm).unplug()

    def reboot(self, name: str, timeout: float = 30.0) -> Lease | None:
        """DHCP again from scratch, as a rebooted guest does: same IP."""
        vm = self.vms.require(name)
        guest = self.vms.guest(vm)
        guest.stop_dhcp()
        time.sleep(0.1)
        guest.start_dhcp()
        return guest.wait_for_lease(timeout)
