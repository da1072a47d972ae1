"""Real OpenStack Neutron 29 processes for the interop tests, from the
virtualenv `./dev setup` installs (`.venv-neutron`; KAON_NEUTRON_VENV
overrides), each with a private configuration under a state directory.

`neutron-dhcp-agent` as root on a machine without sudo, OVS or the Linux
bridge agent needs (each line below is a fact found running it here):

* `[agent] root_helper = env PATH=<venv>/bin:...`: the default is `sudo`,
  which is not installed (and not needed as root); an empty root helper
  is no way out, since oslo.privsep then still prefixes its helper with
  `sudo`.  `env` runs the command itself, and the PATH in front lets it
  find the venv's `privsep-helper`.
* `interface_driver = null`: Neutron 29 ships only `openvswitch` and
  `null` (the Linux bridge driver went with the linuxbridge agent).  The
  null driver plugs nothing: the agent expects `tap<port[:11]>` to be in
  its `qdhcp-<network>` namespace, put there by whoever wires ports on
  this host (plug_dhcp_port below does what an L2 agent would), and until
  it is, fails the network and retries it every `resync_interval`.
* The state path must be readable by others: dnsmasq drops to `nobody`
  and reads its host and option files from there on every SIGHUP.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import uuid

from kaon import naming
from kaon.agent.linux import ip_lib
from tests.support.procs import end_process_group
from tests.support.server import free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NEUTRON_VERSION = '29.0.0'
SETUP_HINT = 'run ./dev setup (it installs neutron into .venv-neutron)'
DHCP_NAMESPACE_PREFIX = 'qdhcp-'       # Neutron's, fixed
# The root end of a DHCP tap's veth, on the network's bridge.
ROOT_END_PREFIX = 'ktn'


def venv() -> str:
    """Neutron's virtualenv; an AssertionError naming the fix if absent."""
    path = os.environ.get('KAON_NEUTRON_VENV') or os.path.join(
        REPO, '.venv-neutron')
    agent = os.path.join(path, 'bin', 'neutron-dhcp-agent')
    assert os.access(agent, os.X_OK), f'{agent} not found: {SETUP_HINT}'
    return path


class NeutronDhcpAgent:
    """One `neutron-dhcp-agent` on its own host name and state path."""

    def __init__(self, transport_url: str, state_prefix: str) -> None:
        self.venv = venv()
        self.host = f'kt-neutron-{uuid.uuid4().hex[:6]}'
        self.state = tempfile.mkdtemp(prefix=state_prefix)
        os.chmod(self.state, 0o755)     # dnsmasq (nobody) reads under it
        self.log_path = os.path.join(self.state, 'agent.log')
        self.proc: subprocess.Popen | None = None
        path = f'{self.venv}/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        self.configs = [self._write('neutron.conf', f"""[DEFAULT]
host = {self.host}
transport_url = {transport_url}
state_path = {self.state}
[agent]
root_helper = env PATH={path}
report_interval = 2
[oslo_concurrency]
lock_path = {self.state}/lock
"""), self._write('dhcp_agent.ini', """[DEFAULT]
interface_driver = null
resync_interval = 1
resync_throttle = 0
""")]

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self.state, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def start(self) -> 'NeutronDhcpAgent':
        args = [os.path.join(self.venv, 'bin', 'neutron-dhcp-agent')]
        for config in self.configs:
            args += ['--config-file', config]
        with open(self.log_path, 'a') as log:
            # Its own session: the agent, its worker and privsep daemons
            # end together (dnsmasq daemonizes out of it).
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def namespace(self, network_id: str) -> str:
        return DHCP_NAMESPACE_PREFIX + network_id

    def log(self, tail: int = 6000) -> str:
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-tail:]
        except OSError:
            return ''

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            end_process_group(self.proc, timeout=10)


def plug_dhcp_port(namespace: str, port: dict, bridge: str) -> str:
    """What the null interface driver leaves to the host's wiring: the
    DHCP port's `tap<port[:11]>` (its MAC, no address: the agent sets
    those) in the agent's namespace, its veth peer on `bridge`.  Returns
    the peer's name."""
    root_end = ROOT_END_PREFIX + port['id'][:naming.ID_CHARS]
    ip_lib.plug_veth(namespace, naming.tap(port['id']), root_end, bridge,
                     port['mac_address'], 1500, [])
    return root_end



class NeutronServer:
    """neutron-server as Neutron 29 runs it: `neutron-rpc-server` (the
    agents' RPC: q-plugin, q-reports-plugin) and the API application
    (`neutron.wsgi.api`, which Neutron serves with uWSGI; here the
    standard library's WSGI server runs it, uWSGI not being installed),
    ML2 with `local` networks and no mechanism driver (no L2 agent), no
    authentication, its schema made by `neutron-db-manage upgrade heads`
    on a private MariaDB (tests/support/mariadb.py says why not
    PostgreSQL).

    With no mechanism driver ML2 grants no host access to a network, so
    Neutron's scheduler never picks a DHCP agent by itself; the admin API
    (`POST /v2.0/agents/<id>/dhcp-networks`) does, as an operator would.
    Ports bound to a host end `binding_failed` and stay DOWN.
    """

    def __init__(self, transport_url: str, db_url: str) -> None:
        self.venv = venv()
        self.state = tempfile.mkdtemp(prefix='kt-neutron-server-')
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.procs: list[subprocess.Popen] = []
        self.config = os.path.join(self.state, 'neutron.conf')
        with open(self.config, 'w') as f:
            f.write(f"""[DEFAULT]
host = kt-neutron-server
core_plugin = ml2
service_plugins =
auth_strategy = noauth
transport_url = {transport_url}
state_path = {self.state}
rpc_workers = 1
rpc_state_report_workers = 1
api_paste_config = {self.venv}/etc/neutron/api-paste.ini
[database]
connection = {db_url}
[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers =
extension_drivers = port_security
[oslo_concurrency]
lock_path = {self.state}/lock
""")
        self.env = dict(os.environ, OS_NEUTRON_CONFIG_DIR=self.state,
                        OS_NEUTRON_CONFIG_FILES=self.config,
                        PATH=f'{self.venv}/bin:' + os.environ['PATH'])

    def _bin(self, name: str) -> str:
        return os.path.join(self.venv, 'bin', name)

    def start(self) -> 'NeutronServer':
        subprocess.run([self._bin('neutron-db-manage'), '--config-file',
                        self.config, 'upgrade', 'heads'], check=True,
                       capture_output=True, env=self.env, timeout=600)
        self._spawn('rpc', [self._bin('neutron-rpc-server'),
                            '--config-file', self.config])
        # neutron.wsgi.api parses sys.argv as its own command line.
        self._spawn('api', [self._bin('python'), '-c', f"""
import sys
sys.argv = ['neutron-api']
from wsgiref.simple_server import make_server
from neutron.wsgi.api import application
make_server('127.0.0.1', {self.port}, application).serve_forever()
"""])
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(os.path.join(self.state, f'{name}.log'), 'a') as log:
            self.procs.append(subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                stdin=subprocess.DEVNULL, start_new_session=True))

    def log(self, name: str, tail: int = 4000) -> str:
        try:
            with open(os.path.join(self.state, f'{name}.log'),
                      errors='replace') as f:
                return f.read()[-tail:]
        except OSError:
            return ''

    def stop(self) -> None:
        for proc in self.procs:
            end_process_group(proc, timeout=10)
        self.procs.clear()

