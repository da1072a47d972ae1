"""One test's split deployment: a `kaon server` and `kaon dhcp-agent`
processes over a RabbitMQ node, the networks it made and its VMs, all
removed again by close() (also when the test failed)."""
from __future__ import annotations

import uuid
from typing import Any, Callable

from kaon import naming
from tests.e2e.conftest import (
    BRIDGE_PREFIX,
    MADE,
    RUN,
    STATE_PREFIX,
    cleanup,
    leftovers,
)
from tests.support.agent import AgentProcess, Agents, wait_for
from tests.support.api import Api
from tests.support.rabbitmq import RabbitMQ
from tests.support.server import KaonServer
from tests.support.vm import Vm, Vms

AGENT_DOWN_TIME = 6
CHECK_INTERVAL = 1          # check_child_processes_interval of the agents
REGISTER_TIMEOUT = 15
AGENT_OPTIONS = {'check_child_processes_interval': CHECK_INTERVAL,
                 'dhcp_lease_duration': 600, 'bulk_reload_interval': 0.5}



def port_ip(port: dict) -> str:
    return port['fixed_ips'][0]['ip_address']


class Split:
    """One test's deployment: a kaon server and DHCP agents over the
    module's broker, the networks it made, and VMs."""

    def __init__(self, rabbit: RabbitMQ) -> None:
        self.rabbit = rabbit
        self.server: KaonServer | None = None
        self._api: Api | None = None
        self.agents = Agents(rabbit.url, AGENT_OPTIONS,
                             state_prefix=f'{STATE_PREFIX}{RUN}-agent')
        self.vms = Vms()
        self.networks: list[str] = []

    @property
    def api(self) -> Api:
        assert self._api is not None, 'start_server() first'
        return self._api

    def start_server(self, **options: Any) -> Api:
        self.server = KaonServer(options={
            'transport_url': self.rabbit.url,
            'agent_down_time': AGENT_DOWN_TIME,
            'host': f'kt-server-{uuid.uuid4().hex[:6]}', **options})
        self.server.start()
        self._api = Api(self.server.url)
        return self._api

    def start_agent(self) -> AgentProcess:
        agent = self.agents.start()
        self.wait(lambda: self.api.alive(agent.host), REGISTER_TIMEOUT,
                  f'{agent.host} registered and alive')
        return agent

    def network(self, cidr: str, **subnet: Any) -> tuple[dict, dict]:
        net, sub = self.api.network(cidr, **subnet)
        self.networks.append(net['id'])
        return net, sub

    def vm(self, port: dict) -> Vm:
        return self.vms(naming.bridge(BRIDGE_PREFIX, port['network_id']),
                        port['mac_address'])

    def logs(self) -> str:
        text = self.agents.logs()
        if self.server is not None:
            text += f'\n--- server\n{self.server.log()[-4000:]}'
        return text

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.1) -> Any:
        """wait_for, failing with the processes' logs."""
        try:
            return wait_for(predicate, timeout, what, interval)
        except AssertionError as err:
            raise AssertionError(f'{err}\n{self.logs()}') from None

    def close(self) -> None:
        left: list[str] = []
        try:
            self.agents.kill_all()
            self.vms.destroy_all()
            if self.server is not None:
                self.server.stop()
            bridges = [naming.bridge(BRIDGE_PREFIX, n) for n in self.networks]
            vm_names = ([vm.namespace for vm in self.vms.made],
                        [vm.veth for vm in self.vms.made])
            for agent in self.agents.started:
                # Its dnsmasqs (orphans if it was killed), namespaces, and
                # the networks' bridges.
                made = cleanup(agent.state,
                               [agent.namespace(n) for n in self.networks]
                               + vm_names[0], bridges + vm_names[1])
                MADE.update(made)
                left += leftovers(made, agent.state)
        finally:
            self.agents.close()
            if self.server is not None:
                self.server.remove_state()
        assert not left, left
