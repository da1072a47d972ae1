"""A small client of kaon's (Neutron's) v2.0 API, for the CLI and compute.

One requests Session per client: connections are kept alive, and issue 5
puts a keystoneauth session in its place.  NeutronError responses become
ApiError carrying Neutron's type and message.
"""
from __future__ import annotations

import os
from typing import Any

import requests

DEFAULT_URL = 'http://127.0.0.1:9696'


class ApiError(Exception):
    """The API said no: `type` is the NeutronError type, str() its message."""

    def __init__(self, type_: str, message: str, status: int) -> None:
        super().__init__(message)
        self.type = type_
        self.status = status


class Unreachable(ApiError):
    pass


class Client:
    def __init__(self, url: str | None = None) -> None:
        self.url = (url or os.environ.get('KAON_URL') or DEFAULT_URL).rstrip(
            '/')
        self.http = requests.Session()

    def request(self, method: str, path: str, body: Any = None,
                params: Any = None) -> Any:
        try:
            resp = self.http.request(method, self.url + path, json=body,
                                     params=params, timeout=60)
        except requests.ConnectionError:
            raise Unreachable('Unreachable', f'cannot reach the API at '
                              f'{self.url}: is `kaon server` (or `kaon up`) '
                              'running?', 0) from None
        if resp.status_code >= 400:
            raise _error(resp)
        return resp.json() if resp.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request('GET', path, params=params or None)

    def list(self, resource: str, **filters: Any) -> list[dict]:
        return self.get(f'/v2.0/{resource}s', **filters)[f'{resource}s']

    def show(self, resource: str, item_id: str) -> dict:
        return self.get(f'/v2.0/{resource}s/{item_id}')[resource]

    def create(self, resource: str, body: dict) -> dict:
        return self.request('POST', f'/v2.0/{resource}s',
                            {resource: body})[resource]

    def update(self, resource: str, item_id: str, body: dict) -> dict:
        return self.request('PUT', f'/v2.0/{resource}s/{item_id}',
                            {resource: body})[resource]

    def delete(self, resource: str, item_id: str) -> None:
        self.request('DELETE', f'/v2.0/{resource}s/{item_id}')

    def find(self, resource: str, name_or_id: str) -> dict:
        """By id, else by a unique name (the openstack CLI's find)."""
        try:
            return self.show(resource, name_or_id)
        except ApiError as err:
            if err.status != 404:
                raise
        matches = self.list(resource, name=name_or_id)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ApiError('Conflict', f'More than one {resource} exists '
                           f"with the name '{name_or_id}'.", 409)
        raise ApiError(f'{resource.capitalize()}NotFound',
                       f'{resource.capitalize()} {name_or_id} could not be '
                       'found.', 404)


def _error(resp: requests.Response) -> ApiError:
    try:
        fault = resp.json()['NeutronError']
        return ApiError(fault['type'], fault['message'], resp.status_code)
    except (ValueError, KeyError, TypeError):
        return ApiError(f'HTTP{resp.status_code}',
                        resp.text.strip() or resp.reason, resp.status_code)
