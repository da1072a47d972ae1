"""A private, throwaway OpenStack Keystone for tests.

The real thing: the `keystone` package from PyPI, installed by ./dev setup
in a virtualenv of its own (.venv-keystone, or $KAON_KEYSTONE_VENV), whose
pins are not kaon's.  Everything it has lives in a temporary directory: the
SQLite database, the fernet token and credential key repositories, its log
(keystone.log) and gunicorn's.  It listens on 127.0.0.1 only, on a port this
process binds first and hands to gunicorn (fd://), so no other process can
take the port between choosing it and serving on it.  No memcache.

    with Keystone() as ks:
        ids = ks.add_project_user('p1', 'alice', 'secret')
        token = ks.token('alice', 'secret', 'p1')
        ks.add_service_user('kaon', 'kaon-secret')   # for auth_token
        ... ks.auth_url ...

Start-up runs keystone-manage db_sync, fernet_setup and credential_setup at
once, then bootstrap while gunicorn loads the application: every
keystone-manage costs a couple of seconds of imports alone.  Bootstrap makes
the `admin` user (random password) with role admin on project admin and on
the system, region RegionOne, the identity endpoint (`auth_url`, for the
public, internal and admin interfaces alike), and the roles admin, manager,
member, reader and service, with admin -> manager -> member -> reader
implied.  Passwords are hashed with bcrypt's fewest rounds, for speed.

gunicorn runs with no command-line arguments (its settings are in
gunicorn.conf.py in its working directory): Keystone's application parses
sys.argv with oslo.config and refuses gunicorn's options.
"""
from __future__ import annotations

import datetime
import grp
import os
import pwd
import socket
import subprocess
import tempfile
import time
import uuid
from typing import Any, NamedTuple

import requests

from tests.support.procs import PrivateServer, end_process_group

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SETUP_HINT = ('run ./dev setup (it installs keystone and gunicorn in '
              '.venv-keystone) and try again')
DOMAIN = 'default'


class KeystoneNotInstalled(RuntimeError):
    """No Keystone virtualenv: ./dev setup makes it."""


class ProjectUser(NamedTuple):
    project_id: str
    user_id: str


def keystone_venv() -> str:
    """$KAON_KEYSTONE_VENV (relative to the repository, as in ./dev) or
    the repository's .venv-keystone."""
    venv = os.environ.get('KAON_KEYSTONE_VENV') or '.venv-keystone'
    return os.path.join(REPO, venv)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Keystone(PrivateServer):
    """One private Keystone; `auth_url` answers once start() returns.

    A context manager: leaving it stops every process it started and
    removes its directory, whatever happened.  `start_seconds` is how long
    start() took.
    """

    def __init__(self, workers: int = 1, threads: int = 8,
                 start_timeout: float = 120) -> None:
        self.venv = keystone_venv()
        for tool in ('keystone-manage', 'gunicorn'):
            if not os.access(os.path.join(self.venv, 'bin', tool), os.X_OK):
                raise KeystoneNotInstalled(
                    f'{self.venv}/bin/{tool} not found: {SETUP_HINT}')
        self.workers = workers
        self.threads = threads
        self.start_timeout = start_timeout
        self.admin_user = 'admin'
        self.admin_password = uuid.uuid4().hex
        self.admin_project = 'admin'
        self.region = 'RegionOne'
        self.root: str | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._procs: list[subprocess.Popen] = []
        self._admin_session: Any = None
        self.start_seconds: float | None = None

    # -- paths ----------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return f'http://127.0.0.1:{self.port}/v3'

    @property
    def config(self) -> str:
        return self._path('keystone.conf')

    @property
    def log_path(self) -> str:
        return self._path('keystone.log')

    def log(self) -> str:
        """The tails of Keystone's, gunicorn's and keystone-manage's logs."""
        text = ''
        if not self.root:
            return text
        for name in sorted(os.listdir(self.root)):
            if name.endswith('.log'):
                try:
                    with open(self._path(name), errors='replace') as f:
                        text += f'--- {name}\n' + f.read()[-5000:]
                except OSError:
                    pass
        return text

    # -- set-up ---------------------------------------------------------------

    def _write_config(self) -> None:
        settings = {
            'DEFAULT': {
                'log_dir': self.root,
                'log_file': 'keystone.log',
                'use_stderr': 'false',
            },
            'database': {
                'connection': f'sqlite:///{self._path("keystone.db")}',
            },
            # bcrypt's fewest rounds: every user made and every password
            # checked costs a hash (a quarter second each at the default 12).
            'identity': {'password_hash_rounds': '4'},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': self._path('fernet-keys')},
            'fernet_receipts': {
                'key_repository': self._path('fernet-receipts')},
            'credential': {'key_repository': self._path('credential-keys')},
            # An in-process cache (no memcache), only with one worker:
            # another worker would not see its invalidations (revocations,
            # role changes).  Without it every authenticated request costs
            # a couple of hundred SQLite queries (~0.5 s); with it ~15 ms.
            'cache': {'enabled': 'true', 'backend': 'dogpile.cache.memory'}
            if self.workers == 1 else {'enabled': 'false'},
        }
        with open(self.config, 'w') as f:
            for section, options in settings.items():
                f.write(f'[{section}]\n')
                f.writelines(f'{k} = {v}\n' for k, v in options.items())

    def _write_gunicorn_config(self, fd: int) -> None:
        settings = {
            'wsgi_app': 'keystone.wsgi.api:application',
            'bind': [f'fd://{fd}'],
            'workers': self.workers,
            'worker_class': 'gthread',
            'threads': self.threads,
            'graceful_timeout': 5,
            'errorlog': self._path('gunicorn.log'),
            'capture_output': True,   # Python warnings of the workers
            'proc_name': f'kaon-keystone-{self.port}',
            # Not the shared $HOME/.gunicorn/gunicorn.ctl of gunicorn 24+.
            'control_socket_disable': True,
        }
        with open(self._path('gunicorn.conf.py'), 'w') as f:
            f.writelines(f'{k} = {v!r}\n' for k, v in settings.items())

    def _env(self) -> dict[str, str]:
        return dict(os.environ, OS_KEYSTONE_CONFIG_DIR=self.root,
                    OS_KEYSTONE_CONFIG_FILES='keystone.conf',
                    PYTHONWARNINGS='ignore', LC_ALL='C.UTF-8')

    def _spawn(self, argv: list[str], log_name: str, **kwargs: Any
               ) -> subprocess.Popen:
        """Start a process in its own session, output to a log file."""
        with open(self._path(log_name), 'ab') as out:
            proc = subprocess.Popen(
                argv, cwd=self.root, env=self._env(),
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def _manage_argv(self, *args: str) -> list[str]:
        return [os.path.join(self.venv, 'bin', 'keystone-manage'),
                '--config-file', self.config, *args]

    def _wait_all(self, procs: list[subprocess.Popen], timeout: float
                  ) -> None:
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                raise RuntimeError(
                    f'keystone-manage {" ".join(proc.args[3:])} did not '
                    f'finish within {timeout}s:\n{self.log()}') from None
            if proc.returncode != 0:
                raise RuntimeError(
                    f'keystone-manage {" ".join(proc.args[3:])} failed '
                    f'({proc.returncode}):\n{self.log()}')

    def manage(self, *args: str, timeout: float = 120) -> None:
        """Run keystone-manage on this Keystone's configuration."""
        self._wait_all([self._spawn(self._manage_argv(*args),
                                    'keystone-manage.log')], timeout)

    # -- life cycle -----------------------------------------------------------

    def _start(self) -> None:
        began = time.monotonic()
        self.root = tempfile.mkdtemp(prefix='kaon-keystone-')
        os.chmod(self.root, 0o700)
        listener = socket.socket()
        try:
            listener.bind(('127.0.0.1', 0))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            self._write_config()
            self._write_gunicorn_config(listener.fileno())
            owner = ['--keystone-user', pwd.getpwuid(os.getuid()).pw_name,
                     '--keystone-group', grp.getgrgid(os.getgid()).gr_name]
            # Independent of each other: at once.
            self._wait_all([
                self._spawn(self._manage_argv('db_sync'), 'db_sync.log'),
                self._spawn(self._manage_argv('fernet_setup', *owner),
                            'fernet_setup.log'),
                self._spawn(self._manage_argv('credential_setup', *owner),
                            'credential_setup.log'),
            ], self.start_timeout)
            # The application reads the database only to serve requests.
            self.proc = self._spawn(
                [os.path.join(self.venv, 'bin', 'gunicorn')],
                'gunicorn.out.log', pass_fds=[listener.fileno()])
        finally:
            listener.close()   # gunicorn has its own copy
        self._wait_all([self._spawn(self._manage_argv(
            'bootstrap', '--bootstrap-username', self.admin_user,
            '--bootstrap-password', self.admin_password,
            '--bootstrap-project-name', self.admin_project,
            '--bootstrap-role-name', 'admin',
            '--bootstrap-region-id', self.region,
            '--bootstrap-public-url', self.auth_url,
            # auth_token looks for the internal endpoint unless told.
            '--bootstrap-internal-url', self.auth_url,
            '--bootstrap-admin-url', self.auth_url), 'bootstrap.log')],
            self.start_timeout)
        self._wait_until_serving(began + self.start_timeout)
        self.start_seconds = time.monotonic() - began

    def _wait_until_serving(self, deadline: float) -> None:
        assert self.proc
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f'gunicorn for Keystone exited ({self.proc.returncode}):'
                    f'\n{self.log()}')
            try:
                if requests.get(self.auth_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass   # the worker is still loading the application
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f'Keystone did not answer GET {self.auth_url} within '
                    f'{self.start_timeout}s:\n{self.log()}')
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop gunicorn (and any keystone-manage still running), reaped."""
        procs, self._procs, self.proc = self._procs, [], None
        for proc in procs:
            # With gunicorn's workers, if the master is slow to stop them.
            end_process_group(proc, 10)

    # -- clients --------------------------------------------------------------

    def admin_session(self) -> Any:
        """A keystoneauth1 Session for the bootstrap admin, scoped to
        project admin."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        auth = v3.Password(
            auth_url=self.auth_url, username=self.admin_user,
            password=self.admin_password, user_domain_id=DOMAIN,
            project_name=self.admin_project, project_domain_id=DOMAIN)
        return session.Session(auth=auth)

    @property
    def _admin(self) -> Any:
        if self._admin_session is None:
            self._admin_session = self.admin_session()
        return self._admin_session

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        """An admin request to the identity API; JSON body or None.
        keystoneauth raises on any error status."""
        resp = self._admin.request(self.auth_url + path, method, **kwargs)
        return resp.json() if resp.content else None

    def os_env(self, user: str, password: str, project: str
               ) -> dict[str, str]:
        """This environment with password auth as `user` on `project`
        for the openstack CLI (and no other OS_* variables)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_URL=self.auth_url, OS_IDENTITY_API_VERSION='3',
                   OS_AUTH_TYPE='password', OS_USERNAME=user,
                   OS_PASSWORD=password, OS_USER_DOMAIN_ID=DOMAIN,
                   OS_PROJECT_NAME=project, OS_PROJECT_DOMAIN_ID=DOMAIN,
                   OS_REGION_NAME=self.region, OS_INTERFACE='public')
        return env

    # -- projects, users, roles -----------------------------------------------

    def project_id(self, name: str, create: bool = True) -> str:
        """The project `name` in domain Default, made if missing."""
        found = self._api('GET', '/projects', params={
            'name': name, 'domain_id': DOMAIN})['projects']
        if found:
            return found[0]['id']
        if not create:
            raise LookupError(f'no project {name!r}')
        return self._api('POST', '/projects', json={'project': {
            'name': name, 'domain_id': DOMAIN}})['project']['id']

    def role_id(self, name: str) -> str:
        found = self._api('GET', '/roles', params={'name': name})['roles']
        if not found:
            raise LookupError(f'no role {name!r}')
        return found[0]['id']

    def add_project_user(self, project: str, user: str, password: str,
                         roles: tuple[str, ...] = ('member',)
                         ) -> ProjectUser:
        """A new user in domain Default with `roles` on `project` (made if
        missing)."""
        project_id = self.project_id(project)
        user_id = self._api('POST', '/users', json={'user': {
            'name': user, 'password': password, 'domain_id': DOMAIN,
            'default_project_id': project_id}})['user']['id']
        for role in roles:
            self._api('PUT', f'/projects/{project_id}/users/{user_id}/roles/'
                      f'{self.role_id(role)}')
        return ProjectUser(project_id, user_id)

    def add_service_user(self, user: str, password: str,
                         project: str = 'service') -> ProjectUser:
        """A user for a service's keystonemiddleware auth_token: role
        `service` on `project` is all Keystone's default policy asks of it
        to validate other users' tokens (identity:validate_token is admin,
        system reader, rule:service_role or the token's own subject)."""
        return self.add_project_user(project, user, password,
                                     roles=('service',))

    # -- tokens ---------------------------------------------------------------

    def _issue(self, identity: dict[str, Any],
               scope: dict[str, Any] | None = None
               ) -> tuple[str, dict[str, Any]]:
        auth: dict[str, Any] = {'identity': identity}
        if scope:
            auth['scope'] = scope
        resp = requests.post(self.auth_url + '/auth/tokens',
                             json={'auth': auth}, timeout=30)
        if resp.status_code != 201:
            raise RuntimeError(f'Keystone refused a token: '
                               f'{resp.status_code} {resp.text[:1000]}')
        return resp.headers['X-Subject-Token'], resp.json()['token']

    def issue(self, user: str, password: str, project: str
              ) -> tuple[str, dict[str, Any]]:
        """A project-scoped token by password, and its body."""
        return self._issue(
            {'methods': ['password'], 'password': {'user': {
                'name': user, 'password': password,
                'domain': {'id': DOMAIN}}}},
            {'project': {'name': project, 'domain': {'id': DOMAIN}}})

    def token(self, user: str, password: str, project: str) -> str:
        """A token for `user` scoped to `project`."""
        return self.issue(user, password, project)[0]

    def validate(self, token: str, auth_token: str | None = None,
                 allow_expired: bool = False) -> dict[str, Any] | None:
        """GET /v3/auth/tokens as auth_token (the admin by default): the
        token's body, or None when Keystone does not know it as valid
        (404).  Any other answer raises."""
        headers = {'X-Auth-Token': auth_token or self._admin.get_token(),
                   'X-Subject-Token': token}
        params = {'allow_expired': 'true'} if allow_expired else {}
        resp = requests.get(self.auth_url + '/auth/tokens', headers=headers,
                            params=params, timeout=30)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise RuntimeError(f'validating a token: {resp.status_code} '
                               f'{resp.text[:1000]}')
        return resp.json()['token']

    def revoke(self, token: str) -> None:
        """Revoke a token (DELETE /v3/auth/tokens as the admin)."""
        self._api('DELETE', '/auth/tokens',
                  headers={'X-Subject-Token': token})

    def expired_token(self, user: str, password: str, project: str,
                      lifetime: float = 2.0) -> str:
        """A token of `user` scoped to `project` that Keystone itself now
        rejects as expired.

        Keystone caps a token issued from an application credential at the
        credential's expiry (CVE-2022-2447): the user makes an application
        credential expiring in `lifetime` to `lifetime` + 1 seconds (on a
        whole second), a token is issued from it, and this waits until that
        token has expired and Keystone says so (GET /v3/auth/tokens: 404).
        The token is otherwise an ordinary one: the user's, scoped to the
        project, with the user's roles there."""
        token, body = self.issue(user, password, project)
        user_id = body['user']['id']
        # Keystone keeps token expiry times to the whole second (it drops
        # the fraction), so the credential expires on a whole second too.
        expires = (_now() + datetime.timedelta(seconds=lifetime + 1)
                   ).replace(microsecond=0)
        resp = requests.post(
            f'{self.auth_url}/users/{user_id}/application_credentials',
            headers={'X-Auth-Token': token}, timeout=30,
            json={'application_credential': {
                'name': f'expiring-{uuid.uuid4().hex[:8]}',
                'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.%f')}})
        if resp.status_code != 201:
            raise RuntimeError(f'application credential refused: '
                               f'{resp.status_code} {resp.text[:1000]}')
        cred = resp.json()['application_credential']
        short, body = self._issue({
            'methods': ['application_credential'],
            'application_credential': {'id': cred['id'],
                                       'secret': cred['secret']}})
        token_expires = datetime.datetime.fromisoformat(
            body['expires_at'].replace('Z', '+00:00'))
        if token_expires != expires:
            raise RuntimeError(f'Keystone did not cap the token at the '
                               f'credential expiry {expires}: {body}')
        deadline = time.monotonic() + lifetime + 30
        while True:
            delay = (token_expires - _now()).total_seconds()
            if delay > 0:
                time.sleep(delay + 0.05)
            if self.validate(short) is None:
                return short
            if time.monotonic() > deadline:
                raise RuntimeError(f'Keystone still accepts a token that '
                                   f'expired at {token_expires}')
            time.sleep(0.2)
