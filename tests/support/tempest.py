"""Tempest, run against a cloud the tests made, and what it said.

Tempest 47.0.0 and neutron-tempest-plugin 3.3.0 live in a virtualenv of
their own (.venv-tempest, or $KAON_TEMPEST_VENV), installed by ./dev setup:
their pins are not kaon's.  Everything runs through that venv's binaries:
`tempest init` makes a workspace (with HOME pointed into it, so the
workspace registry ~/.tempest/workspace.yaml is private too), `tempest run
--include-list ... --exclude-list ...` runs the selection with stestr, and
the per-test outcomes come from stestr's repository as subunit (`stestr last
--subunit`, decoded by tests/tempest/subunit_results.py under the venv's
python), not from console text.

    ws = Workspace(tmpdir)
    ws.init()
    ws.write_config(tempest_config(...))
    ids = ws.list_tests(include, exclude)
    ws.run(include, exclude, concurrency=2)
    results = ws.results(ids)
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from typing import Any, Iterable

from tests.support.procs import end_process_group

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TEMPEST_DIR = os.path.join(REPO, 'tests', 'tempest')
RESULTS_SCRIPT = os.path.join(TEMPEST_DIR, 'subunit_results.py')
SETUP_HINT = ('run ./dev setup (it installs tempest and '
              'neutron-tempest-plugin in .venv-tempest) and try again')
# How much of a failure's exception (its message and Details) to keep.
SUMMARY_CHARS = 400

Config = dict[str, dict[str, str]]


class TempestNotInstalled(RuntimeError):
    """No Tempest virtualenv: ./dev setup makes it."""


def tempest_venv() -> str:
    """$KAON_TEMPEST_VENV (relative to the repository, as in ./dev) or the
    repository's .venv-tempest."""
    venv = os.environ.get('KAON_TEMPEST_VENV') or '.venv-tempest'
    return os.path.join(REPO, venv)


def tempest_config(auth_url: str, admin: tuple[str, str, str],
                   region: str, extensions: Iterable[str],
                   public_network_id: str) -> Config:
    """tempest.conf for the network API selection, as the reference ran
    it (/work/shared/tempest/README.md): dynamic credentials made by the
    Keystone admin `admin` (user, password, project), project-scoped
    policies, only the network service, no validation (no VMs), and the
    extensions the server itself lists, so that tests of the others are
    skipped rather than failed.  Unlike the reference, the cloud has an
    external network (`public_network_id`), as real clouds do."""
    aliases = sorted(extensions)
    user, password, project = admin
    return {
        'DEFAULT': {'log_file': 'tempest.log', 'debug': 'true'},
        'auth': {'use_dynamic_credentials': 'true',
                 'create_isolated_networks': 'false',
                 'admin_username': user, 'admin_password': password,
                 'admin_project_name': project,
                 'admin_domain_name': 'Default',
                 'default_credentials_domain_name': 'Default'},
        'identity': {'uri_v3': auth_url, 'auth_version': 'v3',
                     'region': region, 'v3_endpoint_type': 'public'},
        'identity-feature-enabled': {'api_v2': 'false'},
        'enforce_scope': {'neutron': 'true'},
        'network': {'catalog_type': 'network', 'region': region,
                    'endpoint_type': 'publicURL',
                    'project_network_cidr': '10.100.0.0/16',
                    'project_network_mask_bits': '28',
                    'project_network_v6_cidr': '2001:db8::/48',
                    'project_network_v6_mask_bits': '64',
                    'project_networks_reachable': 'false',
                    'public_network_id': public_network_id,
                    'build_timeout': '60'},
        'network-feature-enabled': {
            'api_extensions': ','.join(aliases) or 'None',
            'ipv6': 'true', 'ipv6_subnet_attributes': 'true',
            'port_security': str('port-security' in aliases).lower(),
            'floating_ips': 'false', 'port_admin_state_change': 'true'},
        'neutron_plugin_options': {
            'available_type_drivers': 'flat,vlan,vxlan',
            'provider_vlans': 'public', 'agent_availability_zone': 'nova',
            'create_shared_resources': 'false'},
        'service_available': {
            'neutron': 'true', 'nova': 'false', 'cinder': 'false',
            'glance': 'false', 'swift': 'false', 'horizon': 'false',
            'placement': 'false'},
        'validation': {'run_validation': 'false'},
    }


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One selected test's result: passed, failed or skipped, and why (the
    skip reason, or the failure's exception line and Details)."""
    status: str
    detail: str = ''


def failure_summary(traceback: str) -> str:
    """The exception of a traceback: what follows its last frame (a
    `  File "..."` line and the indented source and caret lines under it),
    e.g. `tempest.lib.exceptions.NotFound: Object not found` and its
    `Details: {...}`, or an assertion and its diff."""
    lines = traceback.rstrip().splitlines()
    start = 0
    for i, line in enumerate(lines):
        if line.lstrip().startswith('File "'):
            start = i + 1
            indent = len(line) - len(line.lstrip())
            while start < len(lines) and (
                    not lines[start].strip() or
                    len(lines[start]) - len(lines[start].lstrip()) > indent):
                start += 1
    summary = ' | '.join(line.strip() for line in lines[start:]
                         if line.strip())
    return summary[:SUMMARY_CHARS] or traceback.strip()[:SUMMARY_CHARS]


def _outcome(raw: dict[str, str]) -> Outcome:
    status = raw['status']
    if status in ('success', 'xfail'):
        return Outcome('passed')
    if status == 'skip':
        return Outcome('skipped', raw['reason'].strip())
    return Outcome('failed', failure_summary(raw['traceback']) or status)


def bare(test_id: str) -> str:
    """A test id without its attributes: `pkg.module.Class.test_x` of
    `pkg.module.Class.test_x[id-...,smoke]` (selected-tests.txt's form)."""
    return test_id.split('[', 1)[0]


def class_of(test_id: str) -> str:
    """`pkg.module.Class` of `pkg.module.Class.test_x`."""
    return bare(test_id).rsplit('.', 1)[0]


@dataclasses.dataclass(frozen=True)
class Results:
    """Every selected test's outcome; a test that did not run itself
    takes its class's setUpClass outcome (a class skipped or failed as a
    whole reports one event for the class).  `class_errors` are the
    class-level failures (setUpClass, tearDownClass), by event id."""
    outcomes: dict[str, Outcome]
    class_errors: dict[str, str]

    def ids(self, status: str) -> list[str]:
        return sorted(t for t, o in self.outcomes.items()
                      if o.status == status)

    def counts(self) -> dict[str, int]:
        return {s: len(self.ids(s)) for s in ('passed', 'failed', 'skipped')}

    def as_json(self) -> dict[str, Any]:
        def details(status: str) -> dict[str, str]:
            return {t: self.outcomes[t].detail for t in self.ids(status)}
        return {'counts': self.counts(), 'passed': self.ids('passed'),
                'failed': details('failed'), 'skipped': details('skipped'),
                'class_errors': self.class_errors}


def collate(selected: Iterable[str], raw: dict[str, dict[str, str]]
            ) -> Results:
    """Results of the selected tests (bare ids) from subunit_results.py's
    answer (ids with attributes)."""
    by_id = {bare(name): event for name, event in raw.items()}
    outcomes = {}
    for test_id in selected:
        event = by_id.get(test_id) or raw.get(
            f'setUpClass ({class_of(test_id)})')
        outcomes[test_id] = _outcome(event) if event else Outcome(
            'failed', 'did not run (no subunit result for it or its class)')
    class_errors = {name: failure_summary(event['traceback'])
                    for name, event in raw.items()
                    if ' (' in name and event['status'] == 'fail'}
    return Results(outcomes, class_errors)


class Workspace:
    """A tempest workspace in `root`, run with the Tempest venv."""

    def __init__(self, root: str) -> None:
        self.venv = tempest_venv()
        for tool in ('tempest', 'stestr', 'python'):
            if not os.access(self._bin(tool), os.X_OK):
                raise TempestNotInstalled(
                    f'{self._bin(tool)} not found: {SETUP_HINT}')
        self.root = root
        self.path = os.path.join(root, 'workspace')
        self.config_path = os.path.join(self.path, 'etc', 'tempest.conf')
        self.log_path = os.path.join(self.path, 'tempest.log')
        self.console_path = os.path.join(root, 'tempest-run.log')

    def _bin(self, tool: str) -> str:
        return os.path.join(self.venv, 'bin', tool)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'PYTHON', 'TEMPEST_'))}
        env.update(HOME=self.root, TEMPEST_CONFIG_DIR=os.path.dirname(
            self.config_path), TEMPEST_CONFIG='tempest.conf',
            LC_ALL='C.UTF-8', PYTHONWARNINGS='ignore')
        return env

    def _checked(self, argv: list[str], timeout: float = 300,
                 cwd: str | None = None, input_: bytes | None = None,
                 ok_codes: tuple[int, ...] = (0,)) -> bytes:
        proc = subprocess.run(argv, env=self._env(), timeout=timeout,
                              cwd=cwd or self.path, input=input_,
                              capture_output=True)
        if proc.returncode not in ok_codes:
            raise RuntimeError(
                f'{" ".join(argv)} failed ({proc.returncode}):\n'
                f'{proc.stdout.decode(errors="replace")[-3000:]}\n'
                f'{proc.stderr.decode(errors="replace")[-3000:]}')
        return proc.stdout

    def init(self) -> None:
        self._checked([self._bin('tempest'), 'init', self.path],
                      cwd=self.root)

    def write_config(self, config: Config) -> None:
        with open(self.config_path, 'w') as f:
            for section, options in config.items():
                f.write(f'[{section}]\n')
                f.writelines(f'{k} = {v}\n' for k, v in options.items())
                f.write('\n')

    @staticmethod
    def _lists(include: str, exclude: str) -> list[str]:
        return ['--include-list', include, '--exclude-list', exclude]

    def list_tests(self, include: str, exclude: str) -> list[str]:
        """The ids the lists select (`tempest run --list-tests`), bare."""
        out = self._checked([self._bin('tempest'), 'run', '--list-tests',
                             *self._lists(include, exclude)])
        return sorted(bare(line.strip()) for line in out.decode().splitlines()
                      if line.startswith(('tempest.', 'neutron_tempest')))

    def run(self, include: str, exclude: str, concurrency: int,
            timeout: float) -> int:
        """`tempest run` on the lists; its exit code (non-zero when any
        test failed).  Its console output goes to `console_path`."""
        with open(self.console_path, 'wb') as out:
            # Its own session: stestr's workers are its children, and a
            # timeout or an interrupt ends them all (end_process_group).
            proc = subprocess.Popen(
                [self._bin('tempest'), 'run', *self._lists(include, exclude),
                 '--concurrency', str(concurrency)], env=self._env(),
                cwd=self.path, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout)
        finally:
            end_process_group(proc, 10)

    def results(self, selected: Iterable[str]) -> Results:
        """The last run's outcomes from stestr's subunit stream."""
        # stestr exits 1 when the run it shows had failures.
        stream = self._checked([self._bin('stestr'), 'last', '--subunit'],
                               ok_codes=(0, 1))
        raw = json.loads(self._checked(
            [self._bin('python'), RESULTS_SCRIPT], input_=stream))
        return collate(selected, raw)
