"""The `kaon` resource commands (openstack's and neutron's spellings) run as
real processes against a real `kaon server`.

Each process costs a second or so of imports, so every test batches its
checks into few commands, and read-only commands run concurrently.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
import requests
import yaml

from kaon.cli import main as cli_main
from tests.support.server import KaonServer, free_port


@pytest.fixture(scope='module')
def url():
    with KaonServer() as srv:
        yield srv.url


def start(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, 'KAON_URL': url}
    return subprocess.Popen([sys.executable, '-m', 'kaon.cli.main', *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finish(proc: subprocess.Popen, rc: int = 0
           ) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == rc, (proc.args, proc.returncode, out, err)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run(url: str, *args: str, rc: int = 0) -> subprocess.CompletedProcess:
    return finish(start(url, *args), rc)


def run_all(url: str, *commands: tuple[str, ...], rc: int = 0
            ) -> list[subprocess.CompletedProcess]:
    """Run the commands concurrently; each must exit with `rc`."""
    return [finish(proc, rc) for proc in
            [start(url, *args) for args in commands]]


def rows(table: str) -> list[list[str]]:
    """The cells of an ASCII table's lines (header and data rows)."""
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in table.splitlines() if line.startswith('|')]


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.stdout == ''
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('kaon: '), result.stderr
    return lines[0]


def test_the_seed_spelling_end_to_end(url: str) -> None:
    net = rows(run(url, 'net-create', 'demo-net').stdout)
    assert ['name', 'demo-net'] in net and ['admin_state_up', 'UP'] in net
    subnet = rows(run(url, 'subnet-create', 'demo-net', '1.1.1.0/24',
                      '--name', 'demo-subnet', '--gateway', '1.1.1.1',
                      '--enable_dhcp', 'true').stdout)
    for cell in (['cidr', '1.1.1.0/24'], ['gateway_ip', '1.1.1.1'],
                 ['enable_dhcp', 'True'], ['name', 'demo-subnet'],
                 ['allocation_pools', '1.1.1.2-1.1.1.254']):
        assert cell in subnet
    port = dict(map(tuple, rows(run(url, 'port-create', 'demo-net').stdout)))
    ports, nets, shown, sub = run_all(
        url, ('port-list',), ('net-list',), ('net-show', 'demo-net', '-f',
                                             'json'),
        ('subnet-show', 'demo-subnet', '-f', 'json'))
    assert rows(ports.stdout)[0] == ['ID', 'Name', 'MAC Address',
                                     'Fixed IP Addresses', 'Status']
    [listed] = [r for r in rows(ports.stdout) if r[0] == port['id']]
    assert listed[2] == port['mac_address']
    assert "ip_address='1.1.1." in listed[3]
    sub = json.loads(sub.stdout)
    assert f"subnet_id='{sub['id']}'" in listed[3]
    net = json.loads(shown.stdout)
    assert net['subnets'] == [sub['id']] and sub['network_id'] == net['id']
    assert [net['id'], 'demo-net', sub['id']] in rows(nets.stdout)


def test_openstack_spelling_with_json_yaml_value_and_columns(url: str
                                                             ) -> None:
    net = json.loads(run(url, 'network', 'create', 'os-net', '--mtu', '1400',
                         '--disable', '--tag', 'blue', '-f', 'json').stdout)
    assert (net['name'], net['mtu'], net['admin_state_up'], net['tags']) \
        == ('os-net', 1400, False, ['blue'])
    sub = json.loads(run(
        url, 'subnet', 'create', 'os-sub', '--network', 'os-net',
        '--subnet-range', '10.7.0.0/24', '--gateway', '10.7.0.254',
        '--allocation-pool', 'start=10.7.0.10,end=10.7.0.20',
        '--dns-nameserver', '10.7.0.2', '--host-route',
        'destination=192.168.0.0/16,gateway=10.7.0.1', '--no-dhcp',
        '-f', 'json').stdout)
    assert sub['allocation_pools'] == [{'start': '10.7.0.10',
                                        'end': '10.7.0.20'}]
    assert sub['host_routes'] == [{'destination': '192.168.0.0/16',
                                   'nexthop': '10.7.0.1'}]
    assert (sub['gateway_ip'], sub['dns_nameservers'], sub['enable_dhcp']) \
        == ('10.7.0.254', ['10.7.0.2'], False)
    port = json.loads(run(
        url, 'port', 'create', 'os-port', '--network', net['id'],
        '--fixed-ip', 'subnet=os-sub,ip-address=10.7.0.15',
        '--extra-dhcp-option', 'name=mtu,value=1400', '--device-owner',
        'compute:nova', '-f', 'json').stdout)
    assert port['fixed_ips'] == [{'subnet_id': sub['id'],
                                  'ip_address': '10.7.0.15'}]
    assert port['extra_dhcp_opts'] == [{'opt_name': 'mtu',
                                        'opt_value': '1400',
                                        'ip_version': 4}]
    run_all(url, ('network', 'set', 'os-net', '--name', 'os-net2',
                  '--enable', '--tag', 'red'),
            ('port', 'set', 'os-port', '--fixed-ip', 'ip-address=10.7.0.16'))
    nets, ports, ids, shown, sub_yaml, by_ip = run_all(
        url, ('network', 'list'), ('port', 'list', '--network', 'os-net2'),
        ('port', 'list', '--network', 'os-net2', '-f', 'value', '-c', 'id'),
        ('network', 'show', 'os-net2', '-f', 'value', '-c', 'name', '-c',
         'admin_state_up', '-c', 'tags'),
        ('subnet', 'show', 'os-sub', '-f', 'yaml', '-c', 'host_routes'),
        ('port', 'list', '--fixed-ip', 'ip-address=10.7.0.16', '-f', 'json',
         '-c', 'ID', '-c', 'Fixed IP Addresses'))
    assert rows(nets.stdout)[0] == ['ID', 'Name', 'Subnets']
    assert [net['id'], 'os-net2', sub['id']] in rows(nets.stdout)
    [row] = rows(ports.stdout)[1:3:2]      # the port's first line
    assert row[:3] == [port['id'], 'os-port', port['mac_address']]
    assert "ip_address='10.7.0.15'" in row[3]
    assert "ip_address='10.7.0.16'" in ports.stdout
    assert ids.stdout.split() == [port['id']]
    assert shown.stdout.splitlines() == ['UP', 'os-net2', 'blue, red']
    assert yaml.safe_load(sub_yaml.stdout) == {
        'host_routes': [{'destination': '192.168.0.0/16',
                         'nexthop': '10.7.0.1'}]}
    [found] = json.loads(by_ip.stdout)
    assert found['ID'] == port['id'] and set(found) == {
        'ID', 'Fixed IP Addresses'}
    assert len(found['Fixed IP Addresses']) == 2
    run(url, 'port', 'delete', 'os-port')
    run(url, 'network', 'delete', 'os-net2')
    assert requests.get(f"{url}/v2.0/subnets/{sub['id']}").status_code == 404


def _create(url: str, resource: str, **attrs: object) -> dict:
    """Set-up over HTTP: the CLI's own create is tested above."""
    resp = requests.post(f'{url}/v2.0/{resource}s', json={resource: attrs},
                         timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()[resource]


def test_errors_are_one_line_with_neutrons_message(url: str) -> None:
    net = _create(url, 'network', name='err-net')
    sub = _create(url, 'subnet', network_id=net['id'], cidr='10.8.0.0/24',
                  ip_version=4)
    _create(url, 'port', network_id=net['id'],
            fixed_ips=[{'ip_address': '10.8.0.5'}])
    _create(url, 'network', name='twin')
    _create(url, 'network', name='twin')
    procs = [start(url, *args) for args in (
        ('port', 'create', 'p', '--network', 'no-such-net'),
        ('port-create', net['id'], '--fixed-ip', 'ip_address=10.8.0.5'),
        ('network', 'show', 'twin'), ('network', 'list', '-c', 'nope'),
        ('agent', 'show', '4f1bd0c2-5c4e-4a5e-9a43-5a7a9f1a0c11'))]
    down = start(f'http://127.0.0.1:{free_port()}', 'net-list')
    usage = start(url, 'subnet-create', 'err-net', '--enable_dhcp', 'maybe')
    unknown, duplicate_ip, twin, column, agent = [finish(p, 1)
                                                  for p in procs]
    assert one_line_error(unknown) == \
        "kaon: No network found for 'no-such-net'."
    assert one_line_error(duplicate_ip) == \
        f"kaon: IP address 10.8.0.5 already allocated in subnet {sub['id']}."
    assert one_line_error(twin) == \
        "kaon: More than one network exists with the name 'twin'."
    assert 'ID, Name, Subnets' in one_line_error(column)
    assert one_line_error(agent) == \
        'kaon: Agent 4f1bd0c2-5c4e-4a5e-9a43-5a7a9f1a0c11 could not be found.'
    assert 'cannot reach the API at http://127.0.0.1:' in \
        one_line_error(finish(down, 1))
    assert 'usage:' in finish(usage, 2).stderr


def test_agent_lists_without_agents(url: str) -> None:
    _create(url, 'network', name='agent-net')
    table, of_network = run_all(
        url, ('agent', 'list'),
        ('network', 'agent', 'list', '--network', 'agent-net', '-f', 'json'))
    assert table.stdout == '' and table.stderr == ''
    assert json.loads(of_network.stdout) == []


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._subparsers._group_actions if \
            parser._subparsers else ():
        for name, child in action.choices.items():
            yield from _leaves(child, path + (name,))
    if not parser._subparsers:
        yield path, parser


def test_every_resource_command_has_an_example_in_its_help() -> None:
    services = {'server', 'dhcp-agent', 'db', 'config-sample', 'vm', 'up',
                'down'}
    leaves = [(p, parser) for p, parser in _leaves(cli_main.build_parser())
              if p[0] not in services]
    assert len(leaves) > 40
    for path, parser in leaves:
        assert parser.epilog and 'kaon ' in parser.epilog, path
