"""`kaon keystone-register`: make kaon the `network` service of a Keystone.

With the admin credentials of the openstack CLI (OS_* or clouds.yaml, read
by kaon.cli.auth), it ensures the region, a service of type `network` and
its public, internal and admin endpoints, and optionally the account kaon's
[keystone_authtoken] logs in with.  Every step looks before it writes, so a
second run changes nothing, or only what differs (a new URL, a password).

The account needs the `service` role on its project and nothing more:
keystonemiddleware's auth_token validates tokens with GET /v3/auth/tokens,
and Keystone's default rule identity:validate_token allows `admin`, a
system reader, `rule:service_role` (role:service) or the token's own user.
Giving kaon `admin` would let anyone holding its password run the cloud.
"""
from __future__ import annotations

import argparse
import os
import urllib.parse
from typing import Any

from kaon.cli import auth, output
from kaon.cli.client import CliError
from kaon.cli.common import Subparsers, add_command

SERVICE_TYPE = 'network'
DESCRIPTION = 'kaon: Neutron v2.0-compatible network API'
INTERFACES = ('public', 'internal', 'admin')
SERVICE_ROLE = 'service'
DOMAIN = 'default'
COLUMNS = [('Resource', 'resource'), ('Name', 'name'), ('ID', 'id'),
           ('Action', 'action')]
Row = dict[str, str]


def row(resource: str, name: str, id_: str, action: str) -> Row:
    return {'resource': resource, 'name': name, 'id': id_, 'action': action}


class Identity:
    """Keystone's /v3 API over the admin's keystoneauth session; a refusal
    is one CliError line with Keystone's own message."""

    def __init__(self, session: Any, url: str, auth_url: str | None) -> None:
        self.session = session
        self.url = url.rstrip('/')
        self.auth_url = auth_url

    def send(self, method: str, path: str, body: Any = None,
             params: Any = None, authenticated: bool = True) -> Any:
        """The response, whatever its status."""
        with auth.keystone_errors(self.auth_url):
            return self.session.request(
                self.url + path, method, json=body, params=params,
                raise_exc=False, authenticated=authenticated)

    def call(self, method: str, path: str, body: Any = None,
             params: Any = None) -> Any:
        """The JSON body (None for 204); an error status is a CliError."""
        resp = self.send(method, path, body, params)
        if resp.status_code >= 400:
            raise CliError(f'Keystone refused {method} {path}: '
                           f'{_message(resp)}')
        return resp.json() if resp.content else None

    def exists(self, path: str) -> bool:
        """HEAD: 2xx yes, 404 no, anything else a CliError."""
        resp = self.send('HEAD', path)
        if resp.status_code == 404:
            return False
        if resp.status_code >= 400:
            raise CliError(f'Keystone refused HEAD {path}: {_message(resp)}')
        return True

    def find(self, collection: str, **filters: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call(
            'GET', f'/{collection}', params=filters)[collection]
        return found


def _message(resp: Any) -> str:
    """Keystone's {"error": {"message": ...}}, else the status line."""
    try:
        text = resp.json()['error']['message']
    except (ValueError, KeyError, TypeError):
        text = resp.reason
    hint = (' (this needs the admin role; a Keystone enforcing scope wants '
            'OS_SYSTEM_SCOPE=all)' if resp.status_code == 403 else '')
    return f"{' '.join(str(text).split())} (HTTP {resp.status_code}){hint}"


def identity_url(cloud: Any, session: Any) -> str:
    """Keystone's v3 root: the catalog's identity endpoint for the cloud's
    interface and region, else the auth URL the admin logged in at."""
    from keystoneauth1 import exceptions as ks, plugin
    with auth.keystone_errors(auth.auth_url_of(cloud)):
        try:
            url: str | None = session.get_endpoint(
                service_type='identity', version=(3, 0),
                interface=cloud.get_interface('identity') or 'public',
                region_name=cloud.get_region_name('identity') or None)
        except ks.EndpointNotFound:
            url = None
        root: str = url or session.get_endpoint(
            interface=plugin.AUTH_INTERFACE, version=(3, 0))
        return root


# -- the catalog -------------------------------------------------------------
def ensure_region(ks: Identity, region: str) -> Row:
    if ks.exists(f"/regions/{urllib.parse.quote(region, safe='')}"):
        return row('region', region, region, 'unchanged')
    ks.call('POST', '/regions', {'region': {'id': region}})
    return row('region', region, region, 'created')


def ensure_service(ks: Identity, name: str) -> tuple[str, list[Row]]:
    """The one `network` service called `name`.  Another network service
    under another name is refused rather than joined: clients would pick
    either of the two at random."""
    services = ks.find('services', type=SERVICE_TYPE)
    ours = [s for s in services if s.get('name') == name]
    others = [s for s in services if s.get('name') != name]
    if others:
        other = others[0]
        raise CliError(
            f"Keystone already has a network service {other.get('name')!r} "
            f"({other['id']}): take it over with --name "
            f"{other.get('name')}, or delete it first")
    if not ours:
        made = ks.call('POST', '/services', {'service': {
            'type': SERVICE_TYPE, 'name': name, 'description': DESCRIPTION,
            'enabled': True}})['service']
        return made['id'], [row('service', name, made['id'], 'created')]
    keep, *extra = ours
    rows = [_update(ks, 'service', keep, name, {
        'description': DESCRIPTION, 'enabled': True})]
    for dup in extra:          # an earlier, non-idempotent registration
        ks.call('DELETE', f"/services/{dup['id']}")
        rows.append(row('service', name, dup['id'], 'deleted (duplicate)'))
    return keep['id'], rows


def _update(ks: Identity, kind: str, item: dict[str, Any], name: str,
            wanted: dict[str, Any]) -> Row:
    """PATCH what differs from `wanted`; say which fields changed."""
    changed = {k: v for k, v in wanted.items() if item.get(k) != v}
    if not changed:
        return row(kind, name, item['id'], 'unchanged')
    ks.call('PATCH', f"/{kind}s/{item['id']}", {kind: changed})
    return row(kind, name, item['id'], 'updated ' + ', '.join(changed))


def ensure_endpoints(ks: Identity, service_id: str, region: str,
                     urls: dict[str, str]) -> list[Row]:
    """One enabled endpoint per interface in `region`, at its URL."""
    rows = []
    for interface, url in urls.items():
        name = f'{interface} {url}'
        found = ks.find('endpoints', service_id=service_id,
                        interface=interface, region_id=region)
        if not found:
            made = ks.call('POST', '/endpoints', {'endpoint': {
                'service_id': service_id, 'interface': interface,
                'url': url, 'region_id': region, 'enabled': True}})
            rows.append(row('endpoint', name, made['endpoint']['id'],
                            'created'))
            continue
        keep, *extra = found
        rows.append(_update(ks, 'endpoint', keep, name,
                            {'url': url, 'enabled': True}))
        for dup in extra:
            ks.call('DELETE', f"/endpoints/{dup['id']}")
            rows.append(row('endpoint', name, dup['id'],
                            'deleted (duplicate)'))
    return rows


# -- kaon's own account ------------------------------------------------------
def ensure_project(ks: Identity, name: str) -> tuple[str, Row]:
    found = ks.find('projects', name=name, domain_id=DOMAIN)
    if found:
        return found[0]['id'], row('project', name, found[0]['id'],
                                   'unchanged')
    made = ks.call('POST', '/projects', {'project': {
        'name': name, 'domain_id': DOMAIN,
        'description': 'Service accounts'}})['project']
    return made['id'], row('project', name, made['id'], 'created')


def ensure_user(ks: Identity, name: str, password: str, project_id: str
                ) -> tuple[str, Row]:
    """The user, enabled, with this password: an existing one is asked to
    log in with it and gets it (PATCH) only if that fails."""
    found = ks.find('users', name=name, domain_id=DOMAIN)
    if not found:
        made = ks.call('POST', '/users', {'user': {
            'name': name, 'password': password, 'domain_id': DOMAIN,
            'default_project_id': project_id, 'enabled': True}})['user']
        return made['id'], row('user', name, made['id'], 'created')
    user = found[0]
    changed: dict[str, Any] = ({} if user.get('enabled', True)
                               else {'enabled': True})
    if not _password_works(ks, user['id'], password):
        changed['password'] = password
    if changed:
        ks.call('PATCH', f"/users/{user['id']}", {'user': changed})
        return user['id'], row('user', name, user['id'],
                               'updated ' + ', '.join(changed))
    return user['id'], row('user', name, user['id'], 'unchanged')


def _password_works(ks: Identity, user_id: str, password: str) -> bool:
    """An unscoped login with it, without the admin's token."""
    body = {'auth': {'identity': {'methods': ['password'], 'password': {
        'user': {'id': user_id, 'password': password}}}}}
    return bool(ks.send('POST', '/auth/tokens', body,
                        authenticated=False).status_code == 201)


def ensure_grant(ks: Identity, project_id: str, user_id: str, role: str
                 ) -> Row:
    found = ks.find('roles', name=role)
    if found:
        role_id = found[0]['id']
    else:
        role_id = ks.call('POST', '/roles',
                          {'role': {'name': role}})['role']['id']
    path = f'/projects/{project_id}/users/{user_id}/roles/{role_id}'
    name = f'{role} on the project'
    if ks.exists(path):
        return row('role', name, role_id, 'unchanged')
    ks.call('PUT', path)
    return row('role', name, role_id, 'granted')


def ensure_account(ks: Identity, user: str, password: str, project: str
                   ) -> list[Row]:
    project_id, project_row = ensure_project(ks, project)
    user_id, user_row = ensure_user(ks, user, password, project_id)
    return [project_row, user_row,
            ensure_grant(ks, project_id, user_id, SERVICE_ROLE)]


# -- the command -------------------------------------------------------------
def authtoken_sample(auth_url: str, user: str, project: str,
                     interface: str) -> str:
    """The kaon.conf lines that use the account; `interface` is the
    identity endpoint auth_token should use when not its default
    (internal)."""
    lines = ['kaon.conf for this account:', '[DEFAULT]',
             'auth_strategy = keystone', '[keystone_authtoken]',
             f'www_authenticate_uri = {auth_url}', f'auth_url = {auth_url}',
             'auth_type = password', f'username = {user}',
             'password = (--service-password)', f'project_name = {project}',
             f'user_domain_id = {DOMAIN}', f'project_domain_id = {DOMAIN}']
    if interface != 'internal':
        lines.append(f'interface = {interface}')
    return '\n'.join(lines)


def authtoken_interface(session: Any) -> str:
    """auth_token looks Keystone up in the catalog at interface internal
    and fails every request (500) if there is none: many small Keystones
    have only the public identity endpoint that bootstrap made."""
    from keystoneauth1 import exceptions as ks
    try:
        found = session.get_endpoint(service_type='identity',
                                     interface='internal')
    except ks.EndpointNotFound:
        found = None
    return 'internal' if found else 'public'


def _register(args: argparse.Namespace) -> int:
    if bool(args.service_user) != bool(args.service_password):
        raise CliError('--service-user and --service-password go together')
    name = auth.cloud_name(args.os_cloud, os.environ)
    if not auth.uses_keystone(name, os.environ):
        raise CliError('no Keystone credentials: set OS_CLOUD (clouds.yaml)'
                       ' or OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, '
                       'OS_PROJECT_NAME... of an admin, as for openstack')
    cloud = auth.load_cloud(name)
    session = auth.login(cloud)
    auth_url = auth.auth_url_of(cloud)
    ks = Identity(session, identity_url(cloud, session), auth_url)
    given = {'public': args.url, 'internal': args.internal_url,
             'admin': args.admin_url}
    urls = {i: (given[i] or args.url).rstrip('/') for i in INTERFACES}
    rows = [ensure_region(ks, args.region)]
    service_id, service_rows = ensure_service(ks, args.name)
    rows += service_rows + ensure_endpoints(ks, service_id, args.region, urls)
    if args.service_user:
        rows += ensure_account(ks, args.service_user, args.service_password,
                               args.service_project)
    output.print_list(args, COLUMNS, rows)
    if args.service_user and args.format == 'table':
        print(authtoken_sample(auth_url or ks.url, args.service_user,
                               args.service_project,
                               authtoken_interface(session)))
    return 0


def register(sub: Subparsers) -> None:
    cmd = add_command(
        sub, 'keystone-register', _register,
        'register kaon as the network service in Keystone (admin '
        'credentials as for openstack; a rerun updates what changed)',
        ['kaon keystone-register --url http://10.0.0.5:9696',
         'kaon keystone-register --os-cloud admin --url https://net.example'
         ' --internal-url http://10.0.0.5:9696 --region RegionTwo',
         'kaon keystone-register --url http://10.0.0.5:9696 '
         '--service-user kaon --service-password "$KAON_PW"'], api=False)
    cmd.add_argument('--url', required=True,
                     help="kaon's API root, e.g. http://HOST:9696 (the "
                          'public endpoint)')
    cmd.add_argument('--internal-url', help='internal endpoint (default: '
                     '--url)')
    cmd.add_argument('--admin-url', help='admin endpoint (default: --url)')
    cmd.add_argument('--region', default='RegionOne',
                     help='region of the endpoints, made if missing '
                          '(default: RegionOne)')
    cmd.add_argument('--name', default='neutron',
                     help='service name (default: neutron)')
    cmd.add_argument('--service-user', metavar='NAME',
                     help="also ensure kaon's own account (for its "
                          '[keystone_authtoken]) with role service')
    cmd.add_argument('--service-password', metavar='PASSWORD',
                     help="that account's password (set if it differs)")
    cmd.add_argument('--service-project', default='service', metavar='NAME',
                     help="that account's project, made if missing "
                          '(default: service)')
