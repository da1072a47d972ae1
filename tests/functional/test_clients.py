"""The ordinary client path: openstacksdk and the `openstack` CLI.

Both run with auth_type none against the session's server; the SDK is
pointed at the network endpoint directly and discovers v2.0 from GET /.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys

import openstack
import openstack.exceptions
import pytest

from tests.support.rest import unique

MAC = re.compile(r'^fa:16:3e(:[0-9a-f]{2}){3}$')

# openstacksdk's own deprecation notices are not kaon's concern.
pytestmark = [pytest.mark.filterwarnings('ignore::DeprecationWarning'),
              pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')]


@pytest.fixture(scope='module')
def conn(server):
    connection = openstack.connect(
        auth_type='none', auth={'endpoint': server.url},
        network_endpoint_override=server.url,
        load_yaml_config=False, load_envvars=False)
    yield connection
    connection.close()


def test_sdk_network_subnet_port_lifecycle(conn, api):
    name = unique('sdk')
    net = conn.network.create_network(name=name, mtu=1450)
    assert net.name == name and net.mtu == 1450 and net.is_admin_state_up
    assert conn.network.find_network(name).id == net.id

    sub = conn.network.create_subnet(
        network_id=net.id, ip_version=4, cidr='10.70.0.0/24',
        dns_nameservers=['192.0.2.53'], name=name)
    assert sub.gateway_ip == '10.70.0.1'
    assert sub.allocation_pools == [{'start': '10.70.0.2',
                                     'end': '10.70.0.254'}]
    assert sub.dns_nameservers == ['192.0.2.53']

    port = conn.network.create_port(network_id=net.id, name=name)
    assert MAC.match(port.mac_address)
    assert len(port.fixed_ips) == 1
    assert port.fixed_ips[0]['subnet_id'] == sub.id
    assert ipaddress.ip_address(port.fixed_ips[0]['ip_address']) in \
        ipaddress.ip_network('10.70.0.0/24')
    # What the SDK made is what the raw API shows.
    assert api.show('port', port.id)['mac_address'] == port.mac_address

    port = conn.network.update_port(port, name='renamed',
                                    is_admin_state_up=False)
    assert port.name == 'renamed' and port.is_admin_state_up is False
    assert conn.network.get_port(port.id).name == 'renamed'
    net = conn.network.update_network(net, description='updated')
    assert conn.network.get_network(net.id).description == 'updated'
    sub = conn.network.update_subnet(sub, gateway_ip='10.70.0.254',
                                     allocation_pools=[
                                         {'start': '10.70.0.10',
                                          'end': '10.70.0.20'}])
    assert sub.gateway_ip == '10.70.0.254'

    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.delete_network(net)
    assert 'still in use' in str(err.value)
    conn.network.delete_port(port)
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)
    assert conn.network.find_network(name) is None
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.get_network(net.id)


def test_sdk_lists_with_filters(conn):
    net = conn.network.create_network(name=unique('sdk'))
    other = conn.network.create_network(name=unique('sdk'))
    conn.network.create_subnet(network_id=net.id, ip_version=4,
                               cidr='10.71.0.0/24')
    vm = conn.network.create_port(network_id=net.id,
                                  device_owner='compute:nova',
                                  fixed_ips=[{'ip_address': '10.71.0.33'}])
    plain = conn.network.create_port(network_id=net.id)
    conn.network.create_port(network_id=other.id)

    found = {p.id for p in conn.network.ports(network_id=net.id)}
    assert found == {vm.id, plain.id}
    found = [p.id for p in conn.network.ports(network_id=net.id,
                                              device_owner='compute:nova')]
    assert found == [vm.id]
    found = [p.id for p in conn.network.ports(
        fixed_ips=['ip_address=10.71.0.33'], network_id=net.id)]
    assert found == [vm.id]
    found = [p.id for p in conn.network.ports(mac_address=plain.mac_address,
                                              network_id=net.id)]
    assert found == [plain.id]
    assert [n.id for n in conn.network.networks(name=net.name)] == [net.id]


def test_sdk_follows_pagination_links(conn):
    project = unique('proj')
    made = {conn.network.create_network(name=unique('sdk'),
                                        project_id=project).id
            for _ in range(5)}
    listed = [n.id for n in conn.network.networks(project_id=project,
                                                  limit=2)]
    assert sorted(listed) == sorted(made)


def test_sdk_bulk_create_ports(conn):
    net = conn.network.create_network(name=unique('sdk'))
    conn.network.create_subnet(network_id=net.id, ip_version=4,
                               cidr='10.72.0.0/24')
    ports = list(conn.network.create_ports([
        {'network_id': net.id, 'name': 'a'},
        {'network_id': net.id, 'name': 'b',
         'fixed_ips': [{'ip_address': '10.72.0.99'}]},
        {'network_id': net.id, 'name': 'c'}]))
    assert [p.name for p in ports] == ['a', 'b', 'c']
    assert ports[1].fixed_ips[0]['ip_address'] == '10.72.0.99'
    addresses = {p.fixed_ips[0]['ip_address'] for p in ports}
    assert len(addresses) == 3
    assert len({p.mac_address for p in ports}) == 3
    assert len(list(conn.network.ports(network_id=net.id))) == 3


def test_sdk_reports_neutron_errors(conn):
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.create_port(
            network_id='00000000-0000-4000-8000-000000000000')
    assert 'could not be found' in str(err.value)
    net = conn.network.create_network(name=unique('sdk'))
    conn.network.create_subnet(network_id=net.id, ip_version=4,
                               cidr='10.73.0.0/24')
    conn.network.create_port(network_id=net.id,
                             fixed_ips=[{'ip_address': '10.73.0.5'}])
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.create_port(network_id=net.id,
                                 fixed_ips=[{'ip_address': '10.73.0.5'}])
    assert 'already allocated' in str(err.value)
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.network.create_subnet(network_id=net.id, ip_version=4,
                                   cidr='10.74.0.1/24')


def test_sdk_quotas(conn):
    project = unique('proj')
    quota = conn.network.get_quota(project)
    assert (quota.networks, quota.subnets, quota.ports) == (100, 100, 500)
    quota = conn.network.update_quota(project, networks=1)
    assert quota.networks == 1
    conn.network.create_network(name=unique('sdk'), project_id=project)
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.network.create_network(name=unique('sdk'), project_id=project)
    conn.network.delete_quota(project)
    assert conn.network.get_quota(project).networks == 100


# --------------------------------------------------------------------------
# The openstack CLI
# --------------------------------------------------------------------------

def cli(server, *args: str, check: bool = True
        ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_AUTH_TYPE='none', OS_ENDPOINT=server.url)
    # The CLI of the environment running the tests (a test dependency),
    # found next to its python: `./dev test` does not put the venv's bin
    # on PATH, and an `openstack` elsewhere on PATH is not the one tested.
    exe = os.path.join(os.path.dirname(sys.executable), 'openstack')
    assert os.access(exe, os.X_OK), \
        f'the openstack CLI is not installed next to {sys.executable}'
    result = subprocess.run([exe, *args], env=env, capture_output=True,
                            text=True, timeout=120)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def test_openstack_cli_creates_network_subnet_and_port(server, api):
    net_name, sub_name, port_name = (unique('cli') for _ in range(3))
    net = json.loads(cli(server, 'network', 'create', net_name,
                         '-f', 'json').stdout)
    assert net['name'] == net_name and net['status'] == 'ACTIVE'
    sub = json.loads(cli(server, 'subnet', 'create', '--network', net_name,
                         '--subnet-range', '1.1.1.0/24', '--gateway',
                         '1.1.1.1', sub_name, '-f', 'json').stdout)
    assert sub['cidr'] == '1.1.1.0/24' and sub['gateway_ip'] == '1.1.1.1'
    assert sub['network_id'] == net['id']
    port = json.loads(cli(server, 'port', 'create', '--network', net_name,
                          port_name, '-f', 'json').stdout)
    assert MAC.match(port['mac_address']), port['mac_address']
    assert len(port['fixed_ips']) == 1
    address = port['fixed_ips'][0]['ip_address']
    assert re.fullmatch(r'1\.1\.1\.\d+', address) and address != '1.1.1.1'
    assert port['fixed_ips'][0]['subnet_id'] == sub['id']

    listed = json.loads(cli(server, 'port', 'list', '--network', net_name,
                            '-f', 'json').stdout)
    assert [p['ID'] for p in listed] == [port['id']]

    # Deleting the network while the port is on it fails, with Neutron's
    # message passed through to the user.
    failed = cli(server, 'network', 'delete', net_name, check=False)
    assert failed.returncode != 0
    assert 'in use' in failed.stderr, failed.stderr
    assert api.show('network', net['id'])['subnets'] == [sub['id']]
