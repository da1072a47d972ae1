"""A small client of kaon's Neutron v2.0 API for the `kaon` resource commands.

Every failure a user can cause or meet surfaces as a `CliError` whose str is
one line to print: Neutron's own message for a NeutronError, a clear hint
when nothing listens at the URL.  Authentication is not this module's
business: the HTTP session is one object handed in (kaon.cli.auth wraps
keystoneauth's to look like requests'), and a 401 only gets a hint from
whoever built the client on what to do about it.
"""
from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any, Protocol

import requests

DEFAULT_URL = 'http://127.0.0.1:9696'       # what the default options bind
# A server bound to a wildcard address is reached over loopback.
_WILDCARDS = {'': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}
_UUID = re.compile(r'^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$')


class CliError(Exception):
    """An error the CLI reports as `kaon: <str(err)>` and exit status 1."""


class ApiError(CliError):
    """A NeutronError (or other non-2xx) response: str is Neutron's message,
    `type` its exception class name (e.g. 'IpAddressAlreadyAllocated')."""

    def __init__(self, message: str, status: int, type_: str = '') -> None:
        super().__init__(' '.join(message.split()))
        self.status = status
        self.type = type_


class Session(Protocol):
    """What the client needs of a session: requests.Session's request(),
    called with keywords, returning error responses rather than raising."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


def configured_url() -> str:
    """The API where this host's configuration makes `kaon server` and
    `kaon up` listen (bind_host, bind_port)."""
    from kaon.conf import CONF
    host = _WILDCARDS.get(CONF.bind_host, CONF.bind_host)
    return f"http://{f'[{host}]' if ':' in host else host}:{CONF.bind_port}"


def default_url() -> str:
    """$KAON_URL, else where the configuration binds the API."""
    return os.environ.get('KAON_URL') or configured_url()


def looks_like_id(value: str) -> bool:
    return bool(_UUID.match(value))


def _error_from(resp: requests.Response, hint: str = '') -> ApiError:
    """The API's message and error type; `hint` says what to do about it."""
    message, type_ = _message_of(resp)
    return ApiError(f'{message} ({hint})' if hint else message,
                    resp.status_code, type_)


def _message_of(resp: requests.Response) -> tuple[str, str]:
    """Neutron's message if the body is a NeutronError, the message of
    OpenStack's {"error": {...}} form (keystonemiddleware's 401), else the
    status line and the start of the body."""
    try:
        body = resp.json()
        err = body.get('NeutronError') or body.get('error')
        if isinstance(err['message'], str):
            return err['message'], str(err.get('type') or
                                        err.get('title') or '')
    except (ValueError, AttributeError, KeyError, TypeError):
        pass
    text = ' '.join(resp.text.split())[:200]
    return (f'HTTP {resp.status_code} {resp.reason}'
            + (f': {text}' if text else '')), ''


class Client:
    """CRUD on /v2.0/<collection> plus name-or-id lookups."""

    def __init__(self, url: str | None = None,
                 session: Session | None = None,
                 timeout: float = 60, unauthorized_hint: str = '') -> None:
        self.url = (url or default_url()).rstrip('/')
        self.session = session or requests.Session()
        self.timeout = timeout
        self.unauthorized_hint = unauthorized_hint

    # -- HTTP ------------------------------------------------------------
    def request(self, method: str, path: str, params: Any = None,
                body: Any = None) -> Any:
        """One API call; the decoded JSON body, or None for 204."""
        target = path if path.startswith('http') else \
            f'{self.url}/v2.0/{path}'
        try:
            resp = self.session.request(method=method, url=target,
                                        params=params, json=body,
                                        timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout):
            raise CliError(f'cannot reach the API at {self.url}: is `kaon '
                           'server` (or `kaon up`) running?') from None
        if resp.status_code >= 400:
            hint = self.unauthorized_hint if resp.status_code == 401 else ''
            raise _error_from(resp, hint)
        return resp.json() if resp.content else None

    # -- collections -----------------------------------------------------
    def list(self, collection: str, **filters: Any) -> list[dict[str, Any]]:
        """Every item matching the filters, following pagination links in
        case the server caps page sizes (pagination_max_limit)."""
        params = [(k, v) for k, vs in filters.items() if vs is not None
                  for v in (vs if isinstance(vs, (list, tuple)) else [vs])]
        body = self.request('GET', collection, params=params)
        items = list(body[collection])
        while True:
            nxt = [link['href'] for link in body.get(f'{collection}_links', [])
                   if link.get('rel') == 'next']
            if not nxt or not body[collection]:
                return items
            body = self.request('GET', nxt[0])
            items += body[collection]

    @staticmethod
    def _item(resource: str, item_id: str) -> str:
        return f"{resource}s/{urllib.parse.quote(item_id, safe='')}"

    def show(self, resource: str, item_id: str) -> dict[str, Any]:
        item: dict[str, Any] = self.request(
            'GET', self._item(resource, item_id))[resource]
        return item

    def create(self, resource: str, attrs: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = self.request(
            'POST', f'{resource}s', body={resource: attrs})[resource]
        return item

    def update(self, resource: str, item_id: str,
               attrs: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = self.request(
            'PUT', self._item(resource, item_id),
            body={resource: attrs})[resource]
        return item

    def delete(self, resource: str, item_id: str) -> None:
        self.request('DELETE', self._item(resource, item_id))

    # -- lookups -----------------------------------------------------------
    def find(self, resource: str, name_or_id: str, by_name: bool = True,
             **filters: Any) -> dict[str, Any]:
        """The one item with this ID or name, like openstack's
        find_resource: an ID wins; a name must match exactly one item (of
        those matching `filters`, e.g. the subnets of one network).  Items
        without names (agents) are found by ID only, with the API's 404."""
        if not by_name:
            return self.show(resource, name_or_id)
        if looks_like_id(name_or_id):
            try:
                return self.show(resource, name_or_id)
            except ApiError as err:
                if err.status != 404:
                    raise
        matches = self.list(f'{resource}s', name=name_or_id, **filters)
        if len(matches) > 1:
            raise CliError(f"More than one {resource} exists with the name "
                           f"'{name_or_id}'.")
        if not matches:
            raise CliError(f"No {resource} found for '{name_or_id}'.")
        return matches[0]

    def find_id(self, resource: str, name_or_id: str, **filters: Any
                ) -> str:
        item_id: str = self.find(resource, name_or_id, **filters)['id']
        return item_id
