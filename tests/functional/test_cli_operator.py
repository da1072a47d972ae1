"""The `kaon` command as an operator meets it: names other projects chose
shown safely, the configuration honoured wherever --config-file is
typed, state files nobody else reads, a taken port and a closed pipe
reported the way a shell user expects.

Every command is a real `python -m kaon.cli.main` process; servers are
real `kaon server` processes on SQLite files in their own temp dirs.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from typing import Iterator

import pytest
import requests

from tests.support.rest import Api, unique
from tests.support.server import KaonServer, free_port

ESCAPE = '\x1b[2J'                   # clear screen
FAKE_ROW = '\n| 0000 | admin-net |'   # a row painted under the real one


def kaon(*args: str, env: dict[str, str] | None = None, stdout: int | None
         = subprocess.PIPE, timeout: float = 120
         ) -> subprocess.CompletedProcess:
    """A kaon command with no KAON_URL and no OS_* credentials: it finds
    the API (if it needs one) through its configuration only."""
    clean = {k: v for k, v in os.environ.items()
             if k != 'KAON_URL' and not k.startswith('OS_')}
    return subprocess.run([sys.executable, '-m', 'kaon.cli.main', *args],
                          stdout=stdout, stderr=subprocess.PIPE, text=True,
                          env={**clean, **(env or {})}, timeout=timeout)


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# -- control characters in tables -------------------------------------------

def test_table_output_escapes_what_a_terminal_would_obey(
        server: KaonServer, api: Api) -> None:
    name = f'{unique("esc")}{ESCAPE}{FAKE_ROW}\t\u202eend'
    net = api.ok(api.post('/v2.0/networks', json={'network': {
        'name': name}}), 201)['network']
    env = {'KAON_URL': server.url}
    listed = kaon('network', 'list', env=env)
    shown = kaon('network', 'show', net['id'], env=env)
    as_json = kaon('network', 'show', net['id'], '-f', 'json', env=env)
    for result in (listed, shown, as_json):
        assert result.returncode == 0, result.stderr
    escaped = '\\x1b[2J\\n| 0000 | admin-net |\\t\\u202eend'
    for table, key in ((listed.stdout, net['id']), (shown.stdout, '| name')):
        assert '\x1b' not in table and '\t' not in table, table
        assert '\u202e' not in table, table
        # the whole name on the item's own line: no row painted under it
        [line] = [line for line in table.splitlines() if key in line]
        assert escaped in line, line
        assert not [line for line in table.splitlines()
                    if line.startswith('| 0000')], table
    assert json.loads(as_json.stdout)['name'] == name     # exact for scripts


# -- --config-file before or after the subcommand ----------------------------

@pytest.fixture
def two_configs() -> Iterator[tuple[KaonServer, str, int]]:
    """A KaonServer's config, and a second file that moves bind_port: the
    later file wins, as with oslo.config's repeated --config-file."""
    srv = KaonServer()
    port = free_port()
    override = os.path.join(srv.state, 'port.conf')
    with open(override, 'w') as f:
        f.write(f'[DEFAULT]\nbind_port = {port}\n')
    try:
        yield srv, override, port
    finally:
        srv.stop()
        srv.remove_state()


def test_config_file_is_read_before_and_after_the_subcommand(
        two_configs: tuple[KaonServer, str, int]) -> None:
    srv, override, port = two_configs
    upgraded = kaon('db', 'upgrade', '--config-file', srv.config)
    assert upgraded.returncode == 0, upgraded.stderr
    serve(srv, f'http://127.0.0.1:{port}', '--config-file', srv.config,
          'server', '--config-file', override)
    name = unique('cf')
    made = kaon('network', 'create', name, '--config-file', srv.config,
                '--config-file', override, '-f', 'json')
    assert made.returncode == 0, made.stderr
    listed = kaon('--config-file', srv.config, 'network', 'list',
                  '--config-file', override, '-f', 'json')
    assert listed.returncode == 0, listed.stderr
    assert [n['Name'] for n in json.loads(listed.stdout)] == [name]
    # the first file alone names the other port: nothing listens there
    alone = kaon('--config-file', srv.config, 'network', 'list')
    assert alone.returncode == 1
    assert f'127.0.0.1:{srv.port}' in one_line(alone.stderr)


def serve(srv: KaonServer, url: str, *args: str) -> None:
    """`kaon *args` as srv's server process, once GET / answers at `url`
    (its exiting first fails the test)."""
    with open(srv.log_path, 'w') as log:
        srv.proc = subprocess.Popen(
            [sys.executable, '-m', 'kaon.cli.main', *args], stdout=log,
            stderr=subprocess.STDOUT)
    while True:
        if srv.proc.poll() is not None:
            raise AssertionError(f'kaon server exited:\n{srv.log()}')
        try:
            requests.get(url + '/', timeout=2)
            return
        except requests.ConnectionError:
            try:                        # poll again in 50 ms, or sooner
                srv.proc.wait(timeout=0.05)   # if it exits meanwhile
            except subprocess.TimeoutExpired:
                pass


# -- file modes --------------------------------------------------------------

def test_server_keeps_its_state_to_itself_and_tightens_older_files() -> None:
    srv = KaonServer()
    try:
        srv.kaon('db', 'upgrade')
        db = os.path.join(srv.state, 'kaon.sqlite')
        for path, older in ((db, 0o644), (srv.state, 0o755)):
            os.chmod(path, older)     # what an older kaon left
        serve(srv, srv.url, '--config-file', srv.config, 'server')
        Api(srv.url).ok(Api(srv.url).post('/v2.0/networks', json={
            'network': {'name': unique('modes')}}), 201)
        assert mode(srv.state) == 0o711
        for path in (db, db + '-wal', db + '-shm'):
            assert mode(path) == 0o600, (path, oct(mode(path)))
        log = srv.log()
        assert f'{db} was mode 0644' in log, log
        assert f'{srv.state} was mode 0755' in log, log
    finally:
        srv.stop()
        srv.remove_state()


def test_a_new_state_dir_is_traversable_not_listable(tmp_path) -> None:
    state = tmp_path / 'fresh' / 'state'
    config = tmp_path / 'kaon.conf'
    config.write_text(f'[DEFAULT]\nstate_path = {state}\n')
    result = kaon('--config-file', str(config), 'db', 'upgrade')
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''        # nothing to tighten in a new tree
    assert mode(str(state)) == 0o711
    assert mode(str(state / 'kaon.sqlite')) == 0o600


# -- a taken port -------------------------------------------------------------

def test_a_taken_port_is_one_line_that_says_what_to_do() -> None:
    srv = KaonServer()
    try:
        srv.kaon('db', 'upgrade')
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', srv.port))
            taken.listen()
            server = srv.kaon('server', check=False)
            up = srv.kaon('up', '--detach', check=False)
        for result in (server, up):
            assert result.returncode == 1, result
            line = one_line(result.stderr)
            assert f'127.0.0.1:{srv.port} is already in use' in line, line
            assert 'bind_port' in line and '--config-file' in line, line
        assert not os.path.exists(os.path.join(srv.state, 'kaon-up.pid'))
    finally:
        srv.remove_state()


# -- a reader that went away --------------------------------------------------

@pytest.mark.parametrize('command', [('config-sample',),
                                     ('policy', 'sample')])
def test_output_into_a_closed_pipe_ends_quietly(command: tuple[str, ...]
                                                ) -> None:
    """`kaon config-sample | head`: the reader closed its end; the writer
    must end without a traceback, with 0 or the shell's SIGPIPE status."""
    read_end, write_end = os.pipe()
    os.close(read_end)                  # no reader before kaon writes
    try:
        result = kaon(*command, stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode in (0, 141), result
    assert result.stderr == '', result.stderr


# -- vm delete --all with no VMs ----------------------------------------------

def test_vm_delete_all_with_no_vms_says_so(tmp_path) -> None:
    config = tmp_path / 'kaon.conf'
    config.write_text(f'[DEFAULT]\nstate_path = {tmp_path}\n'
                      f'bind_port = {free_port()}\n')
    result = kaon('--config-file', str(config), 'vm', 'delete', '--all')
    assert (result.returncode, result.stdout, result.stderr) == \
        (0, 'no VMs to delete\n', '')


# -- a DHCP driver that is not installed ------------------------------------

def test_dhcp_agent_refuses_an_unknown_driver_in_one_line(tmp_path) -> None:
    conf = tmp_path / 'kaon.conf'
    conf.write_text(f'[DEFAULT]\nstate_path = {tmp_path / "state"}\n'
                    'dhcp_driver = no-such-driver\n')
    agent = kaon('dhcp-agent', '--config-file', str(conf), timeout=30)
    assert agent.returncode == 2
    line = one_line(agent.stderr)
    assert 'no-such-driver' in line and 'dnsmasq' in line, line
