"""A client of the Neutron v2.0 API for tests that speak raw HTTP.

`Api` fails a test on any 5xx response: no request may make kaon fail
internally.  Its session may carry headers (a Keystone token) for all calls.
"""
from __future__ import annotations

import uuid
from typing import Any

import requests


def unique(prefix: str = 'ft') -> str:
    return f'{prefix}-{uuid.uuid4().hex[:10]}'


class Api:
    """A thin requests wrapper: base URL, JSON, and Neutron error checks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    # -- raw HTTP ----------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any
                ) -> requests.Response:
        target = path if path.startswith('http') else self.url + path
        kwargs.setdefault('timeout', 60)
        resp = self.session.request(method, target, **kwargs)
        assert resp.status_code < 500, (
            f'{method} {path} -> {resp.status_code} (server error): '
            f'{resp.text[:2000]}')
        return resp

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('GET', path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('POST', path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('PUT', path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('DELETE', path, **kwargs)

    # -- checks ------------------------------------------------------------
    @staticmethod
    def ok(resp: requests.Response, status: int = 200) -> Any:
        assert resp.status_code == status, (
            f'{resp.request.method} {resp.request.url}: expected {status}, '
            f'got {resp.status_code}: {resp.text[:2000]}')
        return resp.json() if resp.content else None

    @staticmethod
    def error(resp: requests.Response, status: int,
              type_: str | tuple[str, ...] | None = None,
              message: str | None = None) -> dict[str, str]:
        """Assert Neutron's error form; returns the NeutronError dict.

        `message` is a substring the message must contain.
        """
        assert resp.status_code == status, (
            f'{resp.request.method} {resp.request.url}: expected {status}, '
            f'got {resp.status_code}: {resp.text[:2000]}')
        assert resp.headers.get('Content-Type', '').startswith(
            'application/json'), resp.headers
        body = resp.json()
        assert set(body) == {'NeutronError'}, body
        err = body['NeutronError']
        assert set(err) == {'type', 'message', 'detail'}, err
        assert err['detail'] == '', err
        assert isinstance(err['type'], str) and err['type'], err
        assert isinstance(err['message'], str) and err['message'], err
        if type_ is not None:
            allowed = (type_,) if isinstance(type_, str) else type_
            assert err['type'] in allowed, err
        if message is not None:
            assert message in err['message'], err
        return err

    # -- resources ---------------------------------------------------------
    def create(self, resource: str, headers: dict | None = None,
               **attrs: Any) -> dict[str, Any]:
        resp = self.post(f'/v2.0/{resource}s', json={resource: attrs},
                         headers=headers)
        return self.ok(resp, 201)[resource]

    def network(self, headers: dict | None = None, **attrs: Any) -> dict:
        attrs.setdefault('name', unique('net'))
        return self.create('network', headers=headers, **attrs)

    def subnet(self, network_id: str, cidr: str, headers: dict | None = None,
               **attrs: Any) -> dict:
        attrs.setdefault('ip_version', 6 if ':' in cidr else 4)
        return self.create('subnet', headers=headers, network_id=network_id,
                           cidr=cidr, **attrs)

    def port(self, network_id: str, headers: dict | None = None,
             **attrs: Any) -> dict:
        return self.create('port', headers=headers, network_id=network_id,
                           **attrs)

    def show(self, resource: str, item_id: str,
             headers: dict | None = None) -> dict:
        resp = self.get(f'/v2.0/{resource}s/{item_id}', headers=headers)
        return self.ok(resp)[resource]

    def update(self, resource: str, item_id: str,
               headers: dict | None = None, **attrs: Any) -> dict:
        resp = self.put(f'/v2.0/{resource}s/{item_id}',
                        json={resource: attrs}, headers=headers)
        return self.ok(resp)[resource]

    def remove(self, resource: str, item_id: str,
               headers: dict | None = None) -> None:
        resp = self.delete(f'/v2.0/{resource}s/{item_id}', headers=headers)
        self.ok(resp, 204)

    def list(self, collection: str, params: Any = None,
             headers: dict | None = None) -> list[dict]:
        resp = self.get(f'/v2.0/{collection}', params=params,
                        headers=headers)
        return self.ok(resp)[collection]
