"""Keystone for the `kaon` commands: which session, which endpoint.

The commands authenticate when a cloud is named (--os-cloud, $OS_CLOUD +
clouds.yaml) or OS_* variables describe one (OS_AUTH_URL, OS_USERNAME,
OS_TOKEN, ...), as for the openstack CLI, except that a lone cloud in a
clouds.yaml nobody names is not used.  Credentials are then read by
openstacksdk's own loader, so clouds.yaml and the environment mean what
they mean to `openstack`, and the session is keystoneauth's.  The API is
found in the service catalog (type `network`) unless --os-url or $KAON_URL
names it.  Without credentials nothing changes: plain requests, no token.

Every Keystone failure becomes one CliError line; keystoneauth raises its
own exceptions where requests returns responses, so the session handed to
the Client is wrapped to look like requests' (method first, no raising on
HTTP errors, requests' connection exceptions).
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator, Mapping

import requests

from kaon.cli.client import Client, CliError

# Variables that pick among configurations without describing one; with
# only these set, openstacksdk's loader finds no environment cloud either.
SELECTORS = frozenset({'OS_CLOUD', 'OS_REGION_NAME', 'OS_CLIENT_CONFIG_FILE',
                       'OS_CLIENT_SECURE_FILE', 'OS_CLOUD_NAME'})
# Test harness variables the loader ignores (OS_TEST_TIMEOUT, OS_STDOUT...).
NOT_CREDENTIALS = ('OS_TEST', 'OS_STD', 'OS_LOG')
NOAUTH_HINT = ('kaon wants a Keystone token: set OS_CLOUD (clouds.yaml) or '
               'OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME... as '
               'for the openstack CLI')
REGISTER_HINT = ('register kaon with `kaon keystone-register --url '
                 'http://HOST:9696`, or name the API with --os-url')
DEFAULT_TIMEOUT = 60.0


def cloud_name(option: str | None, env: Mapping[str, str]) -> str | None:
    """The named cloud: --os-cloud, else $OS_CLOUD."""
    return option or env.get('OS_CLOUD') or None


def uses_keystone(cloud: str | None, env: Mapping[str, str]) -> bool:
    """Whether to authenticate: a cloud is named, or OS_* variables
    describe one the way openstacksdk's loader counts them.  A clouds.yaml
    nobody names does not count (openstack would use a lone cloud in it):
    a stray file must not turn a noauth kaon's commands into Keystone
    logins."""
    if cloud:
        return True
    return any(key.startswith('OS_') and key not in SELECTORS
               and not key.startswith(NOT_CREDENTIALS) for key in env)


def explicit_url(option: str | None, env: Mapping[str, str]) -> str | None:
    """--os-url, else $KAON_URL: a named endpoint beats the catalog."""
    return option or env.get('KAON_URL') or None


def api_root(url: str) -> str:
    """The catalog's URL as the Client wants it: Neutron registers the
    unversioned root, some deployments add /v2.0; the Client adds it."""
    url = url.rstrip('/')
    return url[:-len('/v2.0')] if url.endswith('/v2.0') else url


def missing_secret(auth_type: str | None, auth: Mapping[str, Any]
                   ) -> str | None:
    """What a password or token login lacks (keystoneauth would raise a
    bare Exception mid-request), as the variable to set."""
    kind = (auth_type or 'password').replace('v3', '')
    if kind == 'password' and not auth.get('password'):
        return 'OS_PASSWORD (or password in clouds.yaml)'
    if kind == 'token' and not auth.get('token'):
        return 'OS_TOKEN (or token in clouds.yaml)'
    return None


# -- Keystone errors ---------------------------------------------------------
def keystone_error(err: Exception, auth_url: str | None) -> CliError:
    """One line for what keystoneauth raised while logging in."""
    from keystoneauth1 import exceptions as ks
    where = auth_url or 'the auth URL'
    text = ' '.join(str(err).split())
    if isinstance(err, (ks.ConnectFailure, ks.ConnectTimeout)):
        return CliError(f'cannot reach Keystone at {where}: is it running, '
                        'and is OS_AUTH_URL (auth_url) right?')
    if isinstance(err, ks.DiscoveryFailure):
        return CliError(f'no Keystone API found at {where}: check OS_AUTH_URL'
                        ' (auth_url), e.g. http://HOST:5000/v3')
    if isinstance(err, ks.HttpError):      # Keystone refused the login
        return CliError(f'authentication failed: {text}')
    if isinstance(err, ks.EndpointNotFound):
        return CliError(f"Keystone's catalog: {text}")
    if isinstance(err, ks.ConnectionError):
        return CliError(f'Keystone at {where}: {text}')
    return CliError(f'Keystone: {text}')


@contextlib.contextmanager
def keystone_errors(auth_url: str | None) -> Iterator[None]:
    from keystoneauth1 import exceptions as ks
    try:
        yield
    except ks.ClientException as err:
        raise keystone_error(err, auth_url) from None


# -- configuration and session -----------------------------------------------
def quiet_libraries() -> None:
    """keystoneauth and openstacksdk log warnings (failed discovery...)
    before raising what the command reports anyway in one line; --debug
    keeps them."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        for name in ('keystoneauth', 'openstack'):
            logging.getLogger(name).setLevel(logging.ERROR)


def load_cloud(name: str | None) -> Any:
    """openstacksdk's CloudRegion for the named (or environment) cloud."""
    import openstack.config
    from keystoneauth1 import exceptions as ks
    from openstack import exceptions as sdk
    quiet_libraries()
    try:
        config = openstack.config.OpenStackConfig(app_name='kaon')
    except sdk.ConfigException as err:
        raise CliError(f'cloud configuration: {err}') from None
    try:
        cloud = config.get_one(cloud=name)
    except sdk.ConfigException as err:
        found = config.config_filename or 'none found'
        raise CliError(f'{err} (clouds.yaml: {found})') from None
    except ks.ClientException as err:      # a missing auth_url, a bad type
        raise CliError(f'incomplete credentials: {err}') from None
    except TypeError as err:   # the auth plugin refused an argument
        raise CliError(f'credentials that do not fit the auth type: {err} '
                       '(OS_TOKEN wants OS_AUTH_TYPE=token, as for '
                       'openstack)') from None
    lacking = missing_secret(cloud.config.get('auth_type'),
                             cloud.config.get('auth', {}))
    if lacking:
        raise CliError(f'no secret to log in with: set {lacking}')
    return cloud


def auth_url_of(cloud: Any) -> str | None:
    url: str | None = cloud.config.get('auth', {}).get('auth_url')
    return url


def login(cloud: Any) -> Any:
    """The cloud's keystoneauth Session, already holding a token: failing
    here names Keystone, not the kaon API, in the error."""
    session = cloud.get_session()
    if session.timeout is None:            # a hung Keystone must not hang us
        session.timeout = DEFAULT_TIMEOUT
    with keystone_errors(auth_url_of(cloud)):
        session.get_auth_headers()
    return session


def catalog_url(cloud: Any, session: Any, service_type: str = 'network'
                ) -> str:
    """The service's URL: clouds.yaml's endpoint override (as openstack
    honours it), else the catalog entry for the configured interface
    (default public) and region."""
    from keystoneauth1 import exceptions as ks
    override: str | None = cloud.get_endpoint(service_type)
    if override:
        return override
    interface = cloud.get_interface(service_type) or 'public'
    region = cloud.get_region_name(service_type) or None
    url: str | None = None
    with keystone_errors(auth_url_of(cloud)):
        try:
            url = session.get_endpoint(service_type=service_type,
                                       interface=interface,
                                       region_name=region)
        except ks.EndpointNotFound:
            pass
    if not url:
        raise CliError(f"Keystone's catalog has no {service_type} endpoint "
                       f"(interface {interface}, region {region or 'any'}):"
                       f" {REGISTER_HINT}")
    return url


class KeystoneHttp:
    """A keystoneauth Session called as a requests.Session is: the Client
    reads status codes itself, and meets requests' exceptions when the API
    cannot be reached."""

    def __init__(self, session: Any, auth_url: str | None) -> None:
        self.session = session
        self.auth_url = auth_url

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        from keystoneauth1 import exceptions as ks
        with keystone_errors(self.auth_url):   # a renewal may fail
            self.session.get_auth_headers()
        try:
            return self.session.request(url, method, raise_exc=False,
                                        **kwargs)
        except ks.ConnectTimeout as err:
            raise requests.Timeout(str(err)) from None
        except ks.ConnectionError as err:
            raise requests.ConnectionError(str(err)) from None
        except ks.ClientException as err:
            raise keystone_error(err, self.auth_url) from None


def client(os_url: str | None, os_cloud: str | None,
           env: Mapping[str, str] | None = None) -> Client:
    """The API client a command uses: noauth as ever without credentials;
    with them a Keystone session, and the catalog's network endpoint
    unless one is named."""
    env = os.environ if env is None else env
    url = explicit_url(os_url, env)
    name = cloud_name(os_cloud, env)
    if not uses_keystone(name, env):
        return Client(url, unauthorized_hint=NOAUTH_HINT)
    cloud = load_cloud(name)
    session = login(cloud)
    url = api_root(url or catalog_url(cloud, session))
    hint = (f'kaon refused the token from {auth_url_of(cloud)}: does its '
            '[keystone_authtoken] use that Keystone?')
    return Client(url, session=KeystoneHttp(session, auth_url_of(cloud)),
                  unauthorized_hint=hint)
