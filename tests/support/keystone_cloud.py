"""kaon behind a real Keystone, and the people who use it.

A `KaonServer` with `auth_strategy = keystone`, its auth_token signed in as
a service user of its own, a policy.yaml it starts without (an empty file:
Neutron's defaults), and kaon registered in the catalog as the `network`
service, so that the openstack CLI and keystoneauth find it.  Three
projects with one member each (alice in alpha, bob in beta, carol in gamma)
and Keystone's bootstrap admin use it; `newcomer()` adds one more.  Names
carry a random tag: Keystone outlives one cloud (it is per test session), so
clouds must not collide in it.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from typing import Any

from tests.support.keystone import Keystone
from tests.support.rest import Api
from tests.support.server import KaonServer


@dataclasses.dataclass(frozen=True)
class Person:
    user: str
    password: str
    project: str
    project_id: str


class Cloud:
    def __init__(self, keystone: Keystone,
                 options: dict[str, Any] | None = None,
                 server_args: tuple[str, ...] = ()) -> None:
        self.keystone = keystone
        self.tag = uuid.uuid4().hex[:6]
        password = uuid.uuid4().hex
        self.people: dict[str, Person] = {'admin': Person(
            keystone.admin_user, keystone.admin_password,
            keystone.admin_project,
            keystone.project_id(keystone.admin_project, create=False))}
        for who, project in (('alice', 'alpha'), ('bob', 'beta'),
                             ('carol', 'gamma')):
            user, proj = f'kt-{who}-{self.tag}', f'kt-{project}-{self.tag}'
            ids = keystone.add_project_user(proj, user, password)
            self.people[who] = Person(user, password, proj, ids.project_id)
        service_user = f'kt-kaon-{self.tag}'
        keystone.add_service_user(service_user, password)
        self.policy_dir = tempfile.mkdtemp(prefix='kt-policy-')
        self.policy_file = os.path.join(self.policy_dir, 'policy.yaml')
        self.write_policy('{}\n')
        authtoken = {
            'www_authenticate_uri': keystone.auth_url,
            'auth_url': keystone.auth_url, 'auth_type': 'password',
            'username': service_user, 'password': password,
            'project_name': 'service', 'user_domain_id': 'default',
            'project_domain_id': 'default'}
        self.server = KaonServer(
            options={'auth_strategy': 'keystone', **(options or {})},
            server_args=server_args, sections={
                'keystone_authtoken': authtoken,
                'oslo_policy': {'policy_file': self.policy_file}})
        self._tokens: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.server.url

    def write_policy(self, text: str) -> None:
        """Replace policy.yaml; the running server re-reads it when its
        modification time changes."""
        tmp = self.policy_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, self.policy_file)

    def newcomer(self) -> tuple[Api, str]:
        """A client acting as the member of a new project, and the
        project's id."""
        tag = uuid.uuid4().hex[:8]
        p = Person(f'kt-user-{tag}', uuid.uuid4().hex, f'kt-proj-{tag}', '')
        ids = self.keystone.add_project_user(p.project, p.user, p.password)
        who = f'newcomer-{tag}'
        self.people[who] = dataclasses.replace(p, project_id=ids.project_id)
        return self.api(who), ids.project_id

    def token(self, who: str) -> str:
        if who not in self._tokens:
            p = self.people[who]
            self._tokens[who] = self.keystone.token(p.user, p.password,
                                                    p.project)
        return self._tokens[who]

    def api(self, who: str | None) -> Api:
        """A client acting as `who` (None: no token at all)."""
        client = Api(self.url)
        if who:
            client.session.headers['X-Auth-Token'] = self.token(who)
        return client

    def os_env(self, who: str) -> dict[str, str]:
        p = self.people[who]
        return self.keystone.os_env(p.user, p.password, p.project)

    def register_in_catalog(self) -> None:
        """kaon as the `network` service, the way an operator does it."""
        subprocess.run([sys.executable, '-m', 'kaon.cli.main',
                        'keystone-register', '--url', self.url],
                       env=self.os_env('admin'), check=True,
                       capture_output=True, timeout=120)

    def __enter__(self) -> 'Cloud':
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(*exc)
        shutil.rmtree(self.policy_dir, ignore_errors=True)
