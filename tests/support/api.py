"""A small client of kaon's /v2.0 API for end-to-end tests.

Resources (networks, subnets, ports: create, show, update, delete, list)
and the agents views: GET /v2.0/agents with the liveness the server
computes, and the dhcp_agent_scheduler extension
(/v2.0/networks/<id>/dhcp-agents, /v2.0/agents/<id>/dhcp-networks).
Every call asserts the status code a Neutron client expects.
"""
from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import requests

from tests.support.agent import wait_for

TIMEOUT = 10


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.strptime(value, '%Y-%m-%d %H:%M:%S')


def utc_now() -> datetime.datetime:
    """Now as the agents API shows times (UTC, whole seconds)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    # -- resources -----------------------------------------------------------
    def post(self, resource: str, **body: Any) -> dict:
        resp = self.http.post(f'{self.url}/v2.0/{resource}s',
                              json={resource: body}, timeout=TIMEOUT)
        assert resp.status_code == 201, resp.text
        return resp.json()[resource]

    def put(self, resource: str, item_id: str, **body: Any) -> dict:
        resp = self.http.put(f'{self.url}/v2.0/{resource}s/{item_id}',
                             json={resource: body}, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()[resource]

    def delete(self, resource: str, item_id: str) -> None:
        resp = self.http.delete(f'{self.url}/v2.0/{resource}s/{item_id}',
                                timeout=TIMEOUT)
        assert resp.status_code == 204, resp.text

    def get(self, resource: str, item_id: str) -> dict:
        resp = self.http.get(f'{self.url}/v2.0/{resource}s/{item_id}',
                             timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()[resource]

    def list(self, resource: str, **filters: Any) -> list[dict]:
        resp = self.http.get(f'{self.url}/v2.0/{resource}s', params=filters,
                             timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()[f'{resource}s']

    def network(self, cidr: str, **subnet: Any) -> tuple[dict, dict]:
        net = self.post('network', name=f'kt-{uuid.uuid4().hex[:6]}')
        sub = self.post('subnet', network_id=net['id'], cidr=cidr,
                        ip_version=4, **subnet)
        return net, sub

    def ready_port(self, network_id: str, timeout: float = 15,
                   **body: Any) -> dict:
        """Create a port and wait until an agent reported it servable
        (dhcp_ready_on_ports makes it ACTIVE)."""
        port = self.post('port', network_id=network_id,
                         device_owner='compute:nova', **body)
        wait_for(lambda: self.get('port', port['id'])['status'] == 'ACTIVE',
                 timeout, f'port {port["id"]} ACTIVE', interval=0.1)
        return port

    def dhcp_ports(self, network_id: str) -> list[dict]:
        return self.list('port', network_id=network_id,
                         device_owner='network:dhcp')

    # -- agents --------------------------------------------------------------
    def agents(self) -> list[dict[str, Any]]:
        return self.list('agent')

    def agent(self, host: str) -> dict[str, Any] | None:
        found = [a for a in self.agents() if a['host'] == host]
        assert len(found) <= 1, found
        return found[0] if found else None

    def alive(self, host: str) -> dict[str, Any] | None:
        agent = self.agent(host)
        return agent if agent and agent['alive'] else None

    def dead(self, host: str) -> dict[str, Any] | None:
        agent = self.agent(host)
        return agent if agent and not agent['alive'] else None

    def heartbeat_after(self, host: str, when: datetime.datetime
                        ) -> dict[str, Any] | None:
        """The agent, once it is alive with a heartbeat later than when."""
        agent = self.alive(host)
        if agent and parse_time(agent['heartbeat_timestamp']) > when:
            return agent
        return None

    # -- which agents serve which network -----------------------------------
    def network_agents(self, network_id: str) -> list[dict[str, Any]]:
        resp = self.http.get(
            f'{self.url}/v2.0/networks/{network_id}/dhcp-agents',
            timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()['agents']

    def agent_networks(self, agent_id: str) -> list[dict[str, Any]]:
        resp = self.http.get(
            f'{self.url}/v2.0/agents/{agent_id}/dhcp-networks',
            timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()['networks']

    def add_network_to_agent(self, agent_id: str, network_id: str) -> None:
        resp = self.http.post(
            f'{self.url}/v2.0/agents/{agent_id}/dhcp-networks',
            json={'network_id': network_id}, timeout=TIMEOUT)
        assert resp.status_code == 201, resp.text

    def remove_network_from_agent(self, agent_id: str,
                                  network_id: str) -> None:
        resp = self.http.delete(
            f'{self.url}/v2.0/agents/{agent_id}/dhcp-networks/{network_id}',
            timeout=TIMEOUT)
        assert resp.status_code == 204, resp.text


def timed_post(api: Api, resource: str, **body: Any
               ) -> tuple[requests.Response, float]:
    """One POST, its response and how long it took (no status check)."""
    start = time.perf_counter()
    resp = api.http.post(f'{api.url}/v2.0/{resource}s',
                         json={resource: body}, timeout=30)
    return resp, time.perf_counter() - start
