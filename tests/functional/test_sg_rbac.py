"""RBAC `access_as_shared` on security groups (Neutron's rbac-security-groups
and security-groups-shared-filtering), the ports' `security_groups`
filter, If-Match on groups and rules, and port security against allowed
address pairs -- over real HTTP with several projects (noauth)."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest

from tests.support.rest import Api, unique

Headers = Callable[[str], dict[str, str]]
POLICIES = '/v2.0/rbac-policies'
SG = '/v2.0/security-groups'


def _project() -> str:
    return uuid.uuid4().hex


def _group(api: Api, headers: dict[str, str] | None = None
           ) -> dict[str, Any]:
    return api.ok(api.post(SG, headers=headers, json={'security_group': {
        'name': unique('sg')}}), 201)['security_group']


def _share(api: Api, group_id: str, target: str,
           headers: dict[str, str] | None = None, status: int = 201,
           **extra: Any) -> Any:
    resp = api.post(POLICIES, headers=headers, json={'rbac_policy': {
        'object_type': 'security_group', 'object_id': group_id,
        'action': 'access_as_shared', 'target_tenant': target, **extra}})
    return api.ok(resp, 201)['rbac_policy'] if status == 201 else resp


def _show(api: Api, group_id: str, headers: dict[str, str] | None = None
          ) -> dict[str, Any]:
    return api.ok(api.get(f'{SG}/{group_id}', headers=headers))[
        'security_group']


def _ids(api: Api, headers: dict[str, str], **params: Any) -> set[str]:
    return {g['id'] for g in api.ok(api.get(
        SG, params=params, headers=headers))['security_groups']}


def test_extensions_listed(api: Api) -> None:
    aliases = {e['alias'] for e in api.list('extensions')}
    assert {'rbac-security-groups',
            'security-groups-shared-filtering'} <= aliases


def test_policy_shares_a_group_with_exactly_its_target(
        api: Api, member: Headers) -> None:
    owner_id, guest_id, stranger_id = _project(), _project(), _project()
    owner, guest, stranger = (member(owner_id), member(guest_id),
                              member(stranger_id))
    sg = _group(api, owner)
    api.error(api.get(f"{SG}/{sg['id']}", headers=guest), 404)

    pol = _share(api, sg['id'], guest_id, owner)
    assert (pol['object_type'], pol['target_tenant'], pol['project_id']) \
        == ('security_group', guest_id, owner_id)

    # The guest sees it, shared for it; the owner sees it unshared.
    assert _show(api, sg['id'], guest)['shared']
    assert not _show(api, sg['id'], owner)['shared']
    assert sg['id'] in _ids(api, guest)
    assert sg['id'] in _ids(api, guest, shared=True)
    assert sg['id'] not in _ids(api, guest, shared=False)
    assert sg['id'] in _ids(api, owner, shared=False)
    assert sg['id'] not in _ids(api, owner, shared=True)
    # ...the stranger nothing.
    api.error(api.get(f"{SG}/{sg['id']}", headers=stranger), 404)
    assert sg['id'] not in _ids(api, stranger)

    # The guest may put its own port in the group; the stranger may not.
    guest_net = api.network(headers=guest)
    api.subnet(guest_net['id'], '10.93.0.0/24', headers=guest)
    port = api.port(guest_net['id'], headers=guest,
                    security_groups=[sg['id']])
    assert port['security_groups'] == [sg['id']]
    stranger_net = api.network(headers=stranger)
    api.error(api.post('/v2.0/ports', headers=stranger, json={'port': {
        'network_id': stranger_net['id'], 'security_groups': [sg['id']]}}),
        404, 'SecurityGroupNotFound')

    # The guest may neither share it further, nor change or delete it.
    api.error(_share(api, sg['id'], stranger_id, guest, status=400), 400,
              'InvalidInput')
    assert api.put(f"{SG}/{sg['id']}", headers=guest, json={
        'security_group': {'name': 'mine'}}).status_code in (403, 404)
    assert api.delete(f"{SG}/{sg['id']}", headers=guest).status_code \
        in (403, 404)
    assert _show(api, sg['id'])['name'] == sg['name']

    # The guest's port holds the policy in place (Neutron's in-use check).
    api.error(api.delete(f"{POLICIES}/{pol['id']}", headers=owner), 409,
              'RbacPolicyInUse')
    api.error(api.put(f"{POLICIES}/{pol['id']}", headers=owner, json={
        'rbac_policy': {'target_tenant': stranger_id}}), 409,
        'RbacPolicyInUse')
    api.remove('port', port['id'], headers=guest)
    api.ok(api.delete(f"{POLICIES}/{pol['id']}", headers=owner), 204)
    api.error(api.get(f"{SG}/{sg['id']}", headers=guest), 404)


def test_wildcard_policy_shares_with_everyone(api: Api,
                                              member: Headers) -> None:
    """Only an admin shares with '*' (Neutron's restrict_wildcard)."""
    anyone_id = _project()
    anyone = member(anyone_id)
    sg = _group(api)
    api.error(_share(api, sg['id'], '*', member(_project()), status=403),
              403, 'PolicyNotAuthorized')
    pol = _share(api, sg['id'], '*')
    assert _show(api, sg['id'], anyone)['shared']
    assert _show(api, sg['id'])['shared']
    assert sg['id'] in _ids(api, anyone, shared=True)
    net = api.network(headers=anyone)
    api.subnet(net['id'], '10.94.0.0/24', headers=anyone)
    port = api.port(net['id'], headers=anyone, security_groups=[sg['id']])
    # The '*' policy is the port's project's only access.
    api.error(api.delete(f"{POLICIES}/{pol['id']}"), 409, 'RbacPolicyInUse')
    # A policy naming the project takes over: then '*' may go.
    _share(api, sg['id'], anyone_id)
    api.ok(api.delete(f"{POLICIES}/{pol['id']}"), 204)
    assert _show(api, sg['id'], anyone)['shared']
    api.remove('port', port['id'], headers=anyone)


def test_deleting_a_group_deletes_its_policies(api: Api) -> None:
    sg = _group(api)
    pol = _share(api, sg['id'], _project())
    star = _share(api, sg['id'], '*')
    api.ok(api.delete(f"{SG}/{sg['id']}"), 204)
    for policy_id in (pol['id'], star['id']):
        api.error(api.get(f'{POLICIES}/{policy_id}'), 404)


def test_group_in_use_by_another_projects_port_cannot_go(
        api: Api, member: Headers) -> None:
    guest_id = _project()
    guest = member(guest_id)
    sg = _group(api)
    _share(api, sg['id'], guest_id)
    net = api.network(headers=guest)
    api.subnet(net['id'], '10.95.0.0/24', headers=guest)
    port = api.port(net['id'], headers=guest, security_groups=[sg['id']])
    api.error(api.delete(f"{SG}/{sg['id']}"), 409, 'SecurityGroupInUse')
    api.remove('port', port['id'], headers=guest)
    api.ok(api.delete(f"{SG}/{sg['id']}"), 204)


@pytest.mark.parametrize(('body', 'status', 'error'), [
    ({'action': 'access_as_external'}, 400, 'InvalidActionForType'),
    ({'object_id': str(uuid.uuid4())}, 404, 'SecurityGroupNotFound'),
    ({'object_id': "'; DROP TABLE securitygroups; --"}, 400, None),
    ({'object_type': 'security_groups'}, 400, 'InvalidInput'),
])
def test_policy_errors(api: Api, body: dict[str, Any], status: int,
                       error: str | None) -> None:
    sg = _group(api)
    api.error(_share(api, sg['id'], _project(), status=status, **body),
              status, error)
    assert api.ok(api.get(POLICIES, params={'object_id': sg['id']}))[
        'rbac_policies'] == []


def test_another_projects_group_cannot_be_shared(api: Api,
                                                 member: Headers) -> None:
    sg = _group(api, member(_project()))
    api.error(_share(api, sg['id'], _project(), member(_project()),
                     status=404), 404, 'SecurityGroupNotFound')


def test_object_type_is_normalized(api: Api) -> None:
    sg = _group(api)
    pol = _share(api, sg['id'], _project(), object_type=' Security_Group ')
    assert pol['object_type'] == 'security_group'


def test_ports_filter_by_security_group(api: Api, member: Headers) -> None:
    project = _project()
    headers = member(project)
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.96.0.0/24', headers=headers)
    web, db = _group(api, headers), _group(api, headers)
    in_web = api.port(net['id'], headers=headers,
                      security_groups=[web['id']])
    in_both = api.port(net['id'], headers=headers,
                       security_groups=[web['id'], db['id']])
    api.port(net['id'], headers=headers, security_groups=[])

    def ports(*groups: str) -> set[str]:
        return {p['id'] for p in api.list(
            'ports', {'security_groups': list(groups)}, headers=headers)}
    assert ports(web['id']) == {in_web['id'], in_both['id']}
    assert ports(db['id']) == {in_both['id']}
    assert ports(db['id'], web['id']) == {in_web['id'], in_both['id']}
    assert ports('no-such-group') == set()
    assert ports("' OR 1=1 --") == set()


def _revision_conflict(api: Api, path: str, method: str,
                       revision: int, **kwargs: Any) -> None:
    resp = api.request(method, path, headers={
        'If-Match': f'revision_number={revision}'}, **kwargs)
    api.error(resp, 412, 'RevisionNumberConstraintFailed')


def test_if_match_on_groups_and_rules(api: Api) -> None:
    sg = _group(api)
    path = f"{SG}/{sg['id']}"
    current = sg['revision_number']
    _revision_conflict(api, path, 'PUT', current + 1,
                       json={'security_group': {'name': 'stale'}})
    _revision_conflict(api, path, 'DELETE', current + 1)
    assert _show(api, sg['id'])['name'] == sg['name']
    updated = api.ok(api.put(path, headers={
        'If-Match': f'revision_number={current}'},
        json={'security_group': {'name': 'fresh'}}))['security_group']
    assert updated['name'] == 'fresh'

    rule = sg['security_group_rules'][0]
    rule_path = f"/v2.0/security-group-rules/{rule['id']}"
    _revision_conflict(api, rule_path, 'DELETE',
                       rule['revision_number'] + 1)
    api.ok(api.delete(rule_path, headers={
        'If-Match': f"revision_number={rule['revision_number']}"}), 204)
    # Removing a rule revised its group.
    now = _show(api, sg['id'])['revision_number']
    assert now > updated['revision_number']
    api.ok(api.delete(path, headers={
        'If-Match': f'revision_number={now}'}), 204)


PAIR = [{'ip_address': '10.97.0.200'}]


def test_port_security_off_refuses_address_pairs(api: Api) -> None:
    net = api.network()
    api.subnet(net['id'], '10.97.0.0/24')
    api.error(api.post('/v2.0/ports', json={'port': {
        'network_id': net['id'], 'port_security_enabled': False,
        'security_groups': [], 'allowed_address_pairs': PAIR}}), 409,
        'AddressPairAndPortSecurityRequired')
    # Turning it off while the port keeps pairs: 409, nothing changed.
    port = api.port(net['id'], security_groups=[],
                    allowed_address_pairs=PAIR)
    api.error(api.put(f"/v2.0/ports/{port['id']}", json={'port': {
        'port_security_enabled': False}}), 409,
        'AddressPairAndPortSecurityRequired')
    shown = api.show('port', port['id'])
    assert shown['port_security_enabled'] is True
    assert shown['allowed_address_pairs'][0]['ip_address'] == '10.97.0.200'
    # ...and adding pairs to a port without port security.
    bare = api.port(net['id'], port_security_enabled=False)
    api.error(api.put(f"/v2.0/ports/{bare['id']}", json={'port': {
        'allowed_address_pairs': PAIR}}), 409,
        'AddressPairAndPortSecurityRequired')
    assert api.show('port', bare['id'])['allowed_address_pairs'] == []
    # Clearing the pairs in the same request lets it go off.
    off = api.update('port', port['id'], port_security_enabled=False,
                     allowed_address_pairs=[])
    assert (off['port_security_enabled'], off['allowed_address_pairs']) \
        == (False, [])
