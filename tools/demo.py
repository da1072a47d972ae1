"""The walk-through: a kaon server, demo-net, demo-subnet and three VM ports.

Starts `kaon server` on SQLite under .state/demo, creates what the seed
documents create (`neutron net-create`, `subnet-create`, `port-create`), and
prints which MAC gets which IP.  Safe to run again: the previous demo
network is removed first.  The DHCP agent and VMs that take their lease
arrive with the DHCP path (issue 3) and `kaon up` (issue 4).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

STATE = os.path.abspath('.state/demo')
PORT = 9696


def call(method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f'http://127.0.0.1:{PORT}{path}', data=data,
                                 method=method,
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def kaon(*args: str) -> list[str]:
    config = os.path.join(STATE, 'kaon.conf')
    return [sys.executable, '-m', 'kaon.cli.main', '--config-file', config,
            *args]


def start_server() -> subprocess.Popen:
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, 'kaon.conf'), 'w') as f:
        f.write(f'[DEFAULT]\nstate_path = {STATE}\nbind_port = {PORT}\n')
    subprocess.run(kaon('db', 'upgrade'), check=True,
                   stdout=subprocess.DEVNULL)
    log = open(os.path.join(STATE, 'server.log'), 'a')
    proc = subprocess.Popen(kaon('server'), stdout=log, stderr=log)
    for _ in range(200):
        try:
            call('GET', '/')
            return proc
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None:
                sys.exit(f'kaon server failed, see {STATE}/server.log')
            time.sleep(0.05)
    sys.exit('kaon server did not answer on port %d' % PORT)


def remove_old_demo() -> None:
    for net in call('GET', '/v2.0/networks?name=demo-net')['networks']:
        for port in call('GET', f"/v2.0/ports?network_id={net['id']}")['ports']:
            call('DELETE', f"/v2.0/ports/{port['id']}")
        call('DELETE', f"/v2.0/networks/{net['id']}")


def run_demo(vms: int) -> None:
    remove_old_demo()
    net = call('POST', '/v2.0/networks', {'network': {'name': 'demo-net'}})
    net_id = net['network']['id']
    subnet = call('POST', '/v2.0/subnets', {'subnet': {
        'name': 'demo-subnet', 'network_id': net_id, 'ip_version': 4,
        'cidr': '10.0.0.0/24', 'gateway_ip': '10.0.0.1',
        'enable_dhcp': True}})['subnet']
    print(f"network demo-net {net_id}\nsubnet  demo-subnet {subnet['cidr']}"
          f" gateway {subnet['gateway_ip']} pool "
          f"{subnet['allocation_pools'][0]['start']}-"
          f"{subnet['allocation_pools'][0]['end']}\n")
    ports = call('POST', '/v2.0/ports', {'ports': [
        {'network_id': net_id, 'name': f'vm-{i}',
         'device_owner': 'compute:nova', 'device_id': f'demo-vm-{i}'}
        for i in range(1, vms + 1)]})['ports']
    print(f"{'VM':<8}{'MAC':<20}{'IP':<16}")
    for port in ports:
        print(f"{port['name']:<8}{port['mac_address']:<20}"
              f"{port['fixed_ips'][0]['ip_address']:<16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, default=3)
    parser.add_argument('--keep', action='store_true',
                        help='leave the server running on port 9696')
    args = parser.parse_args()
    proc = start_server()
    try:
        run_demo(args.vms)
    finally:
        if args.keep:
            print(f'\nkaon server running (pid {proc.pid}) on '
                  f'http://127.0.0.1:{PORT}')
        else:
            proc.terminate()
            proc.wait(10)


if __name__ == '__main__':
    main()
