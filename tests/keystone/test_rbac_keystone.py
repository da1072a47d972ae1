"""RBAC sharing between real Keystone projects: alice (alpha) shares her
network with bob's project (beta) by its Keystone id; kaon's auth_token
validates both users' tokens against Keystone."""
from __future__ import annotations

import itertools

from tests.support.keystone_cloud import Cloud

POLICIES = '/v2.0/rbac-policies'
_octets = itertools.count(1)


def test_a_network_shared_with_one_keystone_project(cloud: Cloud) -> None:
    alice, bob = cloud.api('alice'), cloud.api('bob')
    beta = cloud.people['bob'].project_id
    net = alice.network()
    sub = alice.subnet(net['id'], f'10.78.{next(_octets)}.0/24')
    bob.error(bob.get(f"/v2.0/networks/{net['id']}"), 404)

    # Only the admin shares with everyone.
    alice.error(alice.post(POLICIES, json={'rbac_policy': {
        'object_type': 'network', 'object_id': net['id'],
        'action': 'access_as_shared', 'target_tenant': '*'}}), 403)
    pol = alice.ok(alice.post(POLICIES, json={'rbac_policy': {
        'object_type': 'network', 'object_id': net['id'],
        'action': 'access_as_shared', 'target_tenant': beta}}),
        201)['rbac_policy']

    assert bob.show('network', net['id'])['shared'] is True
    assert bob.show('subnet', sub['id'])['id'] == sub['id']
    assert bob.ok(bob.get(POLICIES))['rbac_policies'] == []
    port = bob.port(net['id'])
    alice.error(alice.delete(f"{POLICIES}/{pol['id']}"), 409,
                'RbacPolicyInUse')
    bob.remove('port', port['id'])
    alice.ok(alice.delete(f"{POLICIES}/{pol['id']}"), 204)
    bob.error(bob.get(f"/v2.0/networks/{net['id']}"), 404)
