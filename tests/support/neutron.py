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

