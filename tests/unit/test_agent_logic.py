"""The DHCP agent's decisions, with the no-op driver recording what it is
asked (logic only: the real driver is exercised against dnsmasq in
tests/e2e)."""
import threading

import pytest

from kaon.agent.dhcp.agent import DhcpAgent
from kaon.agent.dhcp.cache import NetworkCache
from kaon.agent.dhcp.casts import DhcpCasts
from kaon.agent.dhcp.noop import NoopBackend, NoopDriver
from kaon.work_queue import NetworkWorkQueue


class Conf:
    host = 'h1'
    num_sync_threads = 2
    dhcp_retry_max_interval = 60.0


class RecordingDriver(NoopDriver):
    """The no-op driver, noting each call in `log`."""
    log: list = []

    def _note(self, what, *args):
        RecordingDriver.log.append((what, self.network['id'], *args))

    def enable(self):
        self._note('enable')
        super().enable()

    def disable(self, retain_port=False):
        self._note('disable')
        super().disable(retain_port)

    def restart(self):
        self._note('restart')
        super().restart()

    def reload_allocations(self):
        self._note('reload')
        super().reload_allocations()

    def update_ports(self, ports):
        self._note('update', [p['id'] for p in ports])

    def remove_ports(self, ports):
        self._note('remove', [p['id'] for p in ports])


class Server:
    """What get_network_info / get_active_networks_info would answer."""

    def __init__(self):
        self.networks = {}

    def get_network_info(self, network_id):
        return self.networks.get(network_id)

    def get_active_networks_info(self):
        return list(self.networks.values())


def network(net_id, cidrs=('10.0.0.0/24',), ports=(), admin=True):
    return {'id': net_id, 'admin_state_up': admin, 'mtu': 1500,
            'project_id': 'p', 'ports': [dict(p) for p in ports],
            'subnets': [{'id': f's{i}', 'cidr': c, 'enable_dhcp': True}
                        for i, c in enumerate(cidrs)]}


def port(port_id, net_id='n1', ip='10.0.0.5', owner='compute:nova',
         host=''):
    return {'id': port_id, 'network_id': net_id, 'device_owner': owner,
            'binding:host_id': host,
            'fixed_ips': [{'subnet_id': 's0', 'ip_address': ip}]}


def make_agent():
    RecordingDriver.log = []
    server, ready = Server(), []
    backend = NoopBackend(driver_class=RecordingDriver)
    agent = DhcpAgent(Conf(), server, backend, None, ready.extend)
    return agent, server, ready


def test_first_dhcp_subnet_enables_same_cidrs_reload_new_cidrs_restart():
    agent, server, _ = make_agent()
    server.networks['n1'] = network('n1')
    agent.enable_network('n1')
    agent.enable_network('n1')
    server.networks['n1'] = network('n1', ('10.0.0.0/24', '10.1.0.0/24'))
    agent.refresh_network('n1')
    assert [entry[0] for entry in RecordingDriver.log] == [
        'enable', 'reload', 'restart']


def test_no_dhcp_subnet_or_admin_down_disables():
    agent, server, _ = make_agent()
    server.networks['n1'] = network('n1')
    agent.enable_network('n1')
    server.networks['n1'] = network('n1', cidrs=())
    agent.refresh_network('n1')
    server.networks['n2'] = network('n2', admin=False)
    agent.enable_network('n2')
    assert RecordingDriver.log == [('enable', 'n1'), ('disable', 'n1')]
    assert agent.cache.ids() == []


def test_port_events_take_the_per_port_path_and_mark_ready():
    agent, server, ready = make_agent()
    server.networks['n1'] = network('n1')
    agent.enable_network('n1')
    agent.port_changed(port('p1'))
    agent.port_removed('p1')
    agent.port_removed('unknown')
    assert RecordingDriver.log[1:] == [('update', 'n1', ['p1']),
                                       ('remove', 'n1', ['p1'])]
    assert 'p1' in ready


def test_own_dhcp_port_ip_change_restarts():
    agent, server, _ = make_agent()
    own = port('d1', ip='10.0.0.2', owner='network:dhcp', host='h1')
    server.networks['n1'] = network('n1', ports=[own])
    agent.enable_network('n1')
    agent.port_changed(dict(own, fixed_ips=[{'subnet_id': 's0',
                                             'ip_address': '10.0.0.3'}]))
    assert RecordingDriver.log[-1] == ('restart', 'n1')


def test_ip_conflict_in_cache_marks_network_for_resync():
    agent, server, _ = make_agent()
    server.networks['n1'] = network('n1', ports=[port('p1')])
    agent.enable_network('n1')
    agent.port_changed(port('p2'))          # same IP as p1
    assert agent.needs_resync == {'n1'}


def test_full_sync_disables_what_the_server_no_longer_lists():
    agent, server, _ = make_agent()
    agent.backend.mark('old', True)         # left by an earlier run
    server.networks['n1'] = network('n1')
    agent.sync_state()
    assert sorted(RecordingDriver.log) == [('disable', 'old'),
                                           ('enable', 'n1')]


def test_cache_counts_and_port_index():
    cache = NetworkCache()
    cache.put(network('n1', ports=[port('p1')]))
    cache.put_port(port('p2', ip='10.0.0.6'))
    assert cache.get_state() == {'networks': 1, 'subnets': 1, 'ports': 2}
    assert cache.ip_owner('n1', '10.0.0.6') == 'p2'
    assert cache.remove_port('p1')['id'] == 'p1'
    assert cache.get_port('p1') is None
    cache.remove('n1')
    assert cache.get_state() == {'networks': 0, 'subnets': 0, 'ports': 0}


def test_work_queue_serialises_a_network_in_priority_order():
    queue = NetworkWorkQueue(workers=4)
    order, gate = [], threading.Event()
    queue.submit('n1', 6, lambda: gate.wait(5) and order.append('first'))
    queue.submit('n1', 6, lambda: order.append('port'))
    queue.submit('n1', 0, lambda: order.append('network'))
    queue.submit('n2', 6, lambda: order.append('other network'))
    assert queue.wait_idle(0.5) is False        # n1 is blocked
    assert order == ['other network']
    gate.set()
    assert queue.wait_idle(5)
    assert order == ['other network', 'first', 'network', 'port']
    queue.shutdown()


def test_a_network_that_fails_to_enable_is_retried_not_half_served():
    agent, server, ready = make_agent()
    server.networks['n1'] = network('n1')
    failing = {'n1'}

    class FlakyDriver(RecordingDriver):
        def enable(self):
            if self.network['id'] in failing:
                raise RuntimeError('no DHCP port: quota')
            super().enable()

        def reload_allocations(self):     # not running: enables (dnsmasq)
            self.enable()
    agent.backend.driver_class = FlakyDriver
    agent.sync_state()
    assert agent.failures.failing()['n1'].reason == \
        'no DHCP port: quota'                     # marked for retry
    assert agent.cache.get('n1') is None          # and not half-served
    with pytest.raises(RuntimeError):             # an event meanwhile
        agent.enable_network('n1')                # tries again, fails
    agent.port_changed(port('p1'))                # waits for the retry
    assert 'p1' not in ready                      # never falsely ready
    failing.clear()
    agent.clock = lambda: float('inf')            # the retry is due
    agent.retry_due()
    assert agent.queue.wait_idle(5)
    assert ('enable', 'n1') in RecordingDriver.log
    assert 'n1' not in agent.failures
    assert agent.health()['networks_failed'] == 0


def test_cache_follows_swaps_and_a_list_changed_under_it():
    cache = NetworkCache()
    net = network('n1', ports=[port(f'p{i}', ip=f'10.0.0.{i + 10}')
                               for i in range(5)])
    cache.put(net)
    assert cache.remove_port('p1')['id'] == 'p1'          # p4 fills the hole
    assert [p['id'] for p in net['ports']] == ['p0', 'p4', 'p2', 'p3']
    assert cache.get_port('p4')['fixed_ips'][0]['ip_address'] == '10.0.0.14'
    assert cache.ip_owner('n1', '10.0.0.11') is None
    net['ports'].insert(0, port('d1', ip='10.0.0.2'))    # device manager
    cache.put_port(port('p3', ip='10.0.0.99'))
    assert cache.get_port('p3')['fixed_ips'][0]['ip_address'] == '10.0.0.99'
    assert cache.ip_owner('n1', '10.0.0.99') == 'p3'
    assert cache.ip_owner('n1', '10.0.0.13') is None
    assert len(net['ports']) == 5


def test_a_full_sync_waits_for_work_running_on_the_network():
    """A network's work runs one piece at a time, whoever queued it: a
    full sync that comes while a port cast is being served configures the
    network after it, never beside it."""
    agent, server, _ = make_agent()
    in_call, overlaps, lock = [], [], threading.Lock()
    serving, release, reloaded = (threading.Event(), threading.Event(),
                                  threading.Event())

    class Overlapping(RecordingDriver):
        def _note(self, what, *args):
            with lock:
                if in_call:
                    overlaps.append((in_call[0], what))
                in_call.append(what)
            try:
                super()._note(what, *args)
                if what == 'update':
                    serving.set()
                    release.wait(5)
                reloaded.set() if what == 'reload' else None
            finally:
                with lock:
                    in_call.remove(what)
    agent.backend.driver_class = Overlapping
    server.networks['n1'] = network('n1')
    agent.enable_network('n1')
    DhcpCasts(agent).port_create_end(None, {'port': port('p1'),
                                            'priority': 6})
    assert serving.wait(5)                 # the cast is being served
    sync = threading.Thread(target=agent.sync_state)
    sync.start()
    reloaded.wait(1)                       # a sync beside it would reload
    release.set()
    sync.join(10)
    assert not sync.is_alive()
    assert overlaps == []
    assert [e[0] for e in RecordingDriver.log] == ['enable', 'update',
                                                   'reload']
