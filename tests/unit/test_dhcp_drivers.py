"""Choosing the DHCP backend by the dhcp_driver option: entry points of
kaon.dhcp_drivers (the ones pyproject.toml declares), Neutron's value for
dnsmasq, and a clear error for a name nothing provides."""
import pathlib
import tomllib
from importlib import metadata

import pytest

from kaon.agent.dhcp import drivers
from kaon.agent.dhcp.agent import DhcpAgent
from kaon.agent.dhcp.noop import NoopBackend
from kaon.agent.linux.dnsmasq_backend import DnsmasqBackend

PYPROJECT = pathlib.Path(__file__).parents[2] / 'pyproject.toml'


def declared() -> list[metadata.EntryPoint]:
    """The group as pyproject.toml declares it (the installed metadata is
    the main checkout's until it is reinstalled)."""
    with open(PYPROJECT, 'rb') as f:
        group = tomllib.load(f)['project']['entry-points'][drivers.GROUP]
    return [metadata.EntryPoint(name, value, drivers.GROUP)
            for name, value in group.items()]


DECLARED = declared()


@pytest.mark.parametrize('name, backend', [
    ('dnsmasq', DnsmasqBackend),
    ('neutron.agent.linux.dhcp.Dnsmasq', DnsmasqBackend),
    ('noop', NoopBackend)])
def test_dhcp_driver_names_a_backend(name, backend):
    assert drivers.load(name, DECLARED) is backend


def test_an_unknown_dhcp_driver_is_refused_naming_the_known_ones():
    with pytest.raises(drivers.UnknownDriver) as err:
        drivers.load('isc-dhcpd', DECLARED)
    assert str(err.value) == ("dhcp_driver 'isc-dhcpd': no such DHCP driver "
                              '(entry points of kaon.dhcp_drivers: dnsmasq, '
                              'noop)')


class Conf:
    host = 'h1'
    num_sync_threads = 2
    dhcp_retry_max_interval = 60.0


class Server:
    def __init__(self, networks):
        self.networks = networks

    def get_network_info(self, network_id):
        return self.networks.get(network_id)

    def get_active_networks_info(self):
        return list(self.networks.values())


def net(net_id):
    return {'id': net_id, 'admin_state_up': True, 'mtu': 1500,
            'project_id': 'p', 'ports': [{'id': 'p1', 'fixed_ips': []}],
            'subnets': [{'id': 's0', 'cidr': '10.0.0.0/24',
                         'enable_dhcp': True}]}


def test_the_noop_backend_keeps_the_agents_bookkeeping():
    ready = []
    backend = drivers.load('noop', DECLARED)(Conf(), None, None)
    server = Server({'n1': net('n1'), 'n2': net('n2')})
    agent = DhcpAgent(Conf(), server, backend, None, ready.extend)
    agent.sync_state()
    assert backend.existing_dhcp_networks() == ['n1', 'n2']
    assert agent.drivers['n1'].active and ready == ['p1', 'p1']
    del server.networks['n2']
    agent.sync_state()
    assert backend.existing_dhcp_networks() == ['n1']
    assert agent.cache.ids() == ['n1']
