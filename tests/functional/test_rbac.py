"""RBAC policies and shared networks, through the API, with several
projects (noauth: X-Project-Id makes each request a project's).

Project ids are UUIDs, as Neutron's valid_target_project requires of a
policy's target (Keystone's are bare hex: some here are too)."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest

from tests.support.rest import Api

Headers = Callable[[str], dict[str, str]]
POLICIES = '/v2.0/rbac-policies'


@pytest.fixture(scope='module', autouse=True)
def admin_policies_unlimited(api: Api) -> None:
    """The admin's project shares many networks in this suite."""
    api.ok(api.put('/v2.0/quotas/admin',
                   json={'quota': {'rbac_policy': -1}}))


def new_project() -> str:
    return uuid.uuid4().hex


def policy(api: Api, object_id: str, target: str,
           headers: dict[str, str] | None = None,
           **extra: Any) -> dict[str, Any]:
    body = {'object_type': 'network', 'object_id': object_id,
            'action': 'access_as_shared', 'target_tenant': target, **extra}
    return api.ok(api.post(POLICIES, json={'rbac_policy': body},
                           headers=headers), 201)['rbac_policy']


def post_policy(api: Api, headers: dict[str, str] | None = None,
                **body: Any) -> Any:
    return api.post(POLICIES, json={'rbac_policy': body}, headers=headers)


def policies(api: Api, params: Any = None,
             headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return api.ok(api.get(POLICIES, params=params,
                          headers=headers))['rbac_policies']


def shared_ids(api: Api, collection: str, shared: bool,
               headers: dict[str, str] | None = None) -> set[str]:
    return {i['id'] for i in api.list(collection, {'shared': shared},
                                      headers=headers)}


# --------------------------------------------------------------------------
# shared = a '*' access_as_shared policy
# --------------------------------------------------------------------------

def test_shared_network_is_a_wildcard_policy(api: Api,
                                             member: Headers) -> None:
    other = member(new_project())
    net = api.network(shared=True)
    wildcard = [p for p in policies(api, {'object_id': net['id']})]
    assert [(p['target_tenant'], p['action'], p['object_type'])
            for p in wildcard] == [('*', 'access_as_shared', 'network')]
    assert set(wildcard[0]) == {'id', 'project_id', 'tenant_id',
                                'object_type', 'object_id', 'action',
                                'target_tenant'}
    assert api.show('network', net['id'], headers=other)['shared'] is True

    # shared=False removes the policy: the network is gone for others.
    assert api.update('network', net['id'], shared=False)['shared'] is False
    assert policies(api, {'object_id': net['id']}) == []
    api.error(api.get(f"/v2.0/networks/{net['id']}", headers=other), 404,
              'NetworkNotFound')

    # A '*' policy made through the API shares it again, and is the
    # network's revision.
    before = api.show('network', net['id'])['revision_number']
    pol = policy(api, net['id'], '*')
    after = api.show('network', net['id'], headers=other)
    assert after['shared'] is True
    assert after['revision_number'] > before
    api.ok(api.delete(f"{POLICIES}/{pol['id']}"), 204)
    assert api.show('network', net['id'])['shared'] is False


def test_bulk_created_shared_networks_are_shared(api: Api) -> None:
    resp = api.post('/v2.0/networks', json={'networks': [
        {'name': 'a', 'shared': True}, {'name': 'b', 'shared': True}]})
    nets = api.ok(resp, 201)['networks']
    assert all(n['shared'] for n in nets)
    targets = {p['object_id']: p['target_tenant']
               for p in policies(api, {'object_id': [n['id'] for n in nets]})}
    assert targets == {n['id']: '*' for n in nets}
