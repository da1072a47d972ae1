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


# --------------------------------------------------------------------------
# A policy naming one project
# --------------------------------------------------------------------------

def test_policy_shares_a_network_with_exactly_its_target(
        api: Api, member: Headers) -> None:
    owner_id, guest_id, stranger_id = new_project(), new_project(), \
        new_project()
    owner, guest, stranger = member(owner_id), member(guest_id), \
        member(stranger_id)
    net = api.network(headers=owner)
    sub = api.subnet(net['id'], '10.91.0.0/24', headers=owner)
    api.error(api.get(f"/v2.0/networks/{net['id']}", headers=guest), 404)

    pol = policy(api, net['id'], guest_id, headers=owner)
    assert pol['project_id'] == owner_id and pol['target_tenant'] == guest_id

    # The guest sees the network and its subnet, shared (as Neutron shows
    # a network shared with the caller's project), and may plug into it.
    seen = api.show('network', net['id'], headers=guest)
    assert seen['shared'] is True
    assert api.show('network', net['id'], headers=owner)['shared'] is False
    assert net['id'] in {n['id'] for n in api.list('networks',
                                                   headers=guest)}
    assert api.show('subnet', sub['id'], headers=guest)['id'] == sub['id']
    port = api.port(net['id'], headers=guest)
    assert port['project_id'] == guest_id

    # ...the stranger sees none of it.
    for path in (f"/v2.0/networks/{net['id']}", f"/v2.0/subnets/{sub['id']}"):
        api.error(api.get(path, headers=stranger), 404)
    assert net['id'] not in {n['id'] for n in api.list('networks',
                                                       headers=stranger)}
    api.error(api.post('/v2.0/ports', headers=stranger, json={
        'port': {'network_id': net['id']}}), 404, 'NetworkNotFound')

    # The shared filter answers for the caller too.
    assert net['id'] in shared_ids(api, 'networks', True, guest)
    assert net['id'] not in shared_ids(api, 'networks', False, guest)
    assert net['id'] in shared_ids(api, 'networks', False, owner)
    assert sub['id'] in shared_ids(api, 'subnets', True, guest)

    # The guest does not see the owner's policy, nor may it share further.
    assert policies(api, headers=guest) == []
    assert [p['id'] for p in policies(api, headers=owner)] == [pol['id']]
    api.error(post_policy(api, headers=guest, object_type='network',
                          object_id=net['id'], action='access_as_shared',
                          target_tenant=stranger_id), 400, 'InvalidInput')

    # The network's owner may delete the guest's port on it.
    api.remove('port', port['id'], headers=owner)


def test_policy_in_use_cannot_go(api: Api, member: Headers) -> None:
    owner_id, guest_id, third_id = new_project(), new_project(), \
        new_project()
    owner, guest = member(owner_id), member(guest_id)
    net = api.network(headers=owner)
    api.subnet(net['id'], '10.92.0.0/24', headers=owner)
    pol = policy(api, net['id'], guest_id, headers=owner)
    port = api.port(net['id'], headers=guest)

    api.error(api.delete(f"{POLICIES}/{pol['id']}", headers=owner), 409,
              'RbacPolicyInUse')
    api.error(api.put(f"{POLICIES}/{pol['id']}", headers=owner, json={
        'rbac_policy': {'target_tenant': third_id}}), 409, 'RbacPolicyInUse')
    # A '*' policy keeps the guest in: then its own may go.
    star = policy(api, net['id'], '*')
    api.ok(api.put(f"{POLICIES}/{pol['id']}", headers=owner, json={
        'rbac_policy': {'target_tenant': third_id}}))
    # ...but the '*' one is the guest's only access now.
    api.error(api.delete(f'{POLICIES}/{star["id"]}'), 409, 'RbacPolicyInUse')
    api.error(api.put(f"/v2.0/networks/{net['id']}",
                      json={'network': {'shared': False}}), 409,
              'InvalidSharedSetting')
    assert api.show('network', net['id'], headers=guest)['shared'] is True

    api.remove('port', port['id'], headers=guest)
    api.ok(api.delete(f'{POLICIES}/{star["id"]}'), 204)
    api.error(api.get(f"/v2.0/networks/{net['id']}", headers=guest), 404)


def test_owner_may_drop_a_policy_naming_itself(api: Api,
                                               member: Headers) -> None:
    owner_id, guest_id = new_project(), new_project()
    owner = member(owner_id)
    net = api.network(headers=owner)
    api.subnet(net['id'], '10.93.0.0/24', headers=owner)
    self_share = policy(api, net['id'], owner_id, headers=owner)
    api.port(net['id'], headers=owner)
    api.ok(api.put(f"{POLICIES}/{self_share['id']}", headers=owner, json={
        'rbac_policy': {'target_tenant': guest_id}}))
    api.ok(api.delete(f"{POLICIES}/{self_share['id']}", headers=owner), 204)


def test_policy_update_changes_only_the_target(api: Api,
                                               member: Headers) -> None:
    guest_id, other_id = new_project(), new_project()
    net = api.network()
    pol = policy(api, net['id'], guest_id)
    updated = api.ok(api.put(f"{POLICIES}/{pol['id']}", json={
        'rbac_policy': {'target_tenant': other_id}}))['rbac_policy']
    assert updated == dict(pol, target_tenant=other_id)
    assert api.ok(api.get(f"{POLICIES}/{pol['id']}"))['rbac_policy'] == \
        updated
    api.error(api.get(f"/v2.0/networks/{net['id']}",
                      headers=member(guest_id)), 404)
    assert api.show('network', net['id'],
                    headers=member(other_id))['shared'] is True


def test_deleting_a_network_deletes_its_policies(api: Api) -> None:
    net = api.network(shared=True)
    policy(api, net['id'], new_project())
    api.remove('network', net['id'])
    assert policies(api, {'object_id': net['id']}) == []


# --------------------------------------------------------------------------
# Errors, as Neutron's
# --------------------------------------------------------------------------

def test_policy_errors(api: Api, member: Headers) -> None:
    owner_id, guest_id = new_project(), new_project()
    owner = member(owner_id)
    net = api.network(headers=owner)
    good = {'object_type': 'network', 'object_id': net['id'],
            'action': 'access_as_shared', 'target_tenant': guest_id}
    policy(api, net['id'], guest_id, headers=owner)
    api.error(post_policy(api, headers=owner, **good), 409,
              'DuplicateRbacPolicy')
    # Only the admin shares with everyone, on create and update.
    api.error(post_policy(api, headers=owner, **dict(
        good, target_tenant='*')), 403, 'PolicyNotAuthorized')
    untargeted = {k: v for k, v in good.items() if k != 'target_tenant'}
    api.error(post_policy(api, headers=owner, target_project='*',
                          **untargeted), 403)
    mine = policies(api, headers=owner)[0]
    api.error(api.put(f"{POLICIES}/{mine['id']}", headers=owner, json={
        'rbac_policy': {'target_tenant': '*'}}), 403)
    # Unknown, invisible or foreign objects.
    api.error(post_policy(api, **dict(good, object_id=str(uuid.uuid4()))),
              404, 'NetworkNotFound')
    api.error(post_policy(api, headers=member(guest_id), **dict(
        good, target_tenant=new_project())), 400, 'InvalidInput')
    api.error(post_policy(api, headers=member(new_project()), **good), 404,
              'NetworkNotFound')
    for bad in ({'target_tenant': None}, {'target_tenant': '1234' * 100},
                {'target_tenant': 'not-a-project'},
                {'target_tenant': guest_id, 'target_project': owner_id},
                {'object_type': 'router'}, {'object_type': 7},
                {'object_id': 'x'}, {'action': 'access_as_external'},
                {'action': ['access_as_shared']}, {'shared': True}):
        err = api.error(post_policy(api, **dict(good, **bad)), 400)
        assert err['type'] in ('HTTPBadRequest', 'InvalidInput',
                               'InvalidActionForType'), (bad, err)
    api.error(post_policy(api, **untargeted), 400)
    api.error(api.get(f'{POLICIES}/{uuid.uuid4()}'), 404, 'RbacPolicyNotFound')
    # Changing what a policy is about is refused.
    api.error(api.put(f"{POLICIES}/{mine['id']}", json={
        'rbac_policy': {'object_id': str(uuid.uuid4())}}), 400)
    # ...and a project's policies are its own.
    api.error(api.get(f"{POLICIES}/{mine['id']}",
                      headers=member(guest_id)), 404, 'RbacPolicyNotFound')
    api.error(api.delete(f"{POLICIES}/{mine['id']}",
                         headers=member(guest_id)), 404)


def test_policy_quota(api: Api, member: Headers) -> None:
    owner_id = new_project()
    owner = member(owner_id)
    quota = api.ok(api.get(f'/v2.0/quotas/{owner_id}'))['quota']
    assert quota['rbac_policy'] == 10
    api.ok(api.put(f'/v2.0/quotas/{owner_id}',
                   json={'quota': {'rbac_policy': 2}}))
    net = api.network(headers=owner)
    for _ in range(2):
        policy(api, net['id'], new_project(), headers=owner)
    api.error(post_policy(api, headers=owner, object_type='network',
                          object_id=net['id'], action='access_as_shared',
                          target_tenant=new_project()), 409, 'OverQuota')


def test_policy_list_filters_and_fields(api: Api, member: Headers) -> None:
    owner_id, guest_id = new_project(), new_project()
    owner = member(owner_id)
    net = api.network(headers=owner)
    one = policy(api, net['id'], guest_id, headers=owner)
    two = policy(api, net['id'], owner_id, headers=owner)
    assert [p['id'] for p in policies(api, {'target_tenant': guest_id},
                                      owner)] == [one['id']]
    assert [p['id'] for p in policies(api, {'target_project': owner_id},
                                      owner)] == [two['id']]
    assert [p['id'] for p in policies(api, {'id': two['id']},
                                      owner)] == [two['id']]
    for fields in (['id'], ['id', 'action'], ['object_type', 'object_id'],
                   ['project_id', 'target_tenant']):
        listed = policies(api, {'fields': fields}, owner)
        assert {frozenset(p) for p in listed} == {frozenset(fields)}


# --------------------------------------------------------------------------
# The shared filter on subnets
# --------------------------------------------------------------------------

def test_subnets_filter_on_their_network_being_shared(
        api: Api, member: Headers) -> None:
    project_id = new_project()
    mine = member(project_id)
    shared_net = api.network(shared=True)
    shared_sub = api.subnet(shared_net['id'], '10.94.0.0/24')
    own_net = api.network(headers=mine)
    own_sub = api.subnet(own_net['id'], '10.95.0.0/24', headers=mine)
    for headers in (mine, None):
        assert shared_sub['id'] in shared_ids(api, 'subnets', True, headers)
        assert own_sub['id'] not in shared_ids(api, 'subnets', True, headers)
        assert own_sub['id'] in shared_ids(api, 'subnets', False, headers)
        assert shared_sub['id'] not in shared_ids(api, 'subnets', False,
                                                  headers)
    # Not an attribute of a subnet's body (Neutron's is_visible False).
    assert 'shared' not in api.show('subnet', shared_sub['id'])
    api.error(api.get('/v2.0/subnets', params={'shared': 'maybe'}), 400)
