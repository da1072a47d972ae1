"""Ports' security_groups and port_security_enabled over real HTTP, with
Neutron's (ML2's) rules and errors."""
from __future__ import annotations

import uuid

from tests.support.rest import unique

SG = '/v2.0/security-groups'


def _net(api, headers, **body):
    net = api.ok(api.post('/v2.0/networks', headers=headers, json={
        'network': dict(body, name=unique())}), 201)['network']
    api.ok(api.post('/v2.0/subnets', headers=headers, json={'subnet': {
        'network_id': net['id'], 'cidr': '10.77.0.0/24', 'ip_version': 4}}),
        201)
    return net


def _port(api, headers, net, status=201, **body):
    resp = api.post('/v2.0/ports', headers=headers, json={'port': dict(
        body, network_id=net['id'])})
    return resp if status != 201 else api.ok(resp, 201)['port']


def _update(api, headers, port, status=200, **body):
    resp = api.put(f"/v2.0/ports/{port['id']}", headers=headers,
                   json={'port': body})
    return resp if status != 200 else api.ok(resp)['port']


def _group(api, headers, **body):
    return api.ok(api.post(SG, headers=headers, json={'security_group': dict(
        body, name=unique('sg'))}), 201)['security_group']


def _default(api, headers):
    return api.ok(api.get(SG, headers=headers, params={'name': 'default'}))[
        'security_groups'][0]['id']


def test_port_gets_the_default_group_unless_told(api, member, project):
    headers = member(project)
    net = _net(api, headers)
    assert net['port_security_enabled'] is True
    port = _port(api, headers, net)      # the project's first use
    assert port['port_security_enabled'] is True
    assert port['security_groups'] == [_default(api, headers)]
    assert _port(api, headers, net, security_groups=[])[
        'security_groups'] == []
    assert _port(api, headers, net, security_groups=None)[
        'security_groups'] == []
    web, db = _group(api, headers), _group(api, headers)
    both = _port(api, headers, net, security_groups=[web['id'], db['id']])
    assert sorted(both['security_groups']) == sorted([web['id'], db['id']])
    shown = api.ok(api.get(f"/v2.0/ports/{both['id']}", headers=headers))
    assert sorted(shown['port']['security_groups']) == sorted(
        both['security_groups'])
    moved = _update(api, headers, both, security_groups=[web['id']])
    assert moved['security_groups'] == [web['id']]
    assert moved['revision_number'] == both['revision_number'] + 1


def test_unknown_or_foreign_group_is_404_and_nothing_is_made(
        api, member, project):
    headers = member(project)
    net = _net(api, headers)
    ports_before = api.ok(api.get('/v2.0/ports', headers=headers))['ports']
    missing = str(uuid.uuid4())
    api.error(_port(api, headers, net, status=404,
                    security_groups=[missing]), 404,
              'SecurityGroupNotFound', missing)
    foreign = _group(api, member(unique('proj')))
    api.error(_port(api, headers, net, status=404,
                    security_groups=[foreign['id']]), 404,
              'SecurityGroupNotFound')
    api.error(_port(api, headers, net, status=400,
                    security_groups=['not-a-uuid']), 400, 'HTTPBadRequest')
    api.error(_port(api, headers, net, status=400,
                    security_groups=missing), 400, 'HTTPBadRequest')
    assert api.ok(api.get('/v2.0/ports', headers=headers))['ports'] == \
        ports_before
    port = _port(api, headers, net)
    api.error(_update(api, headers, port, status=404,
                      security_groups=[missing]), 404,
              'SecurityGroupNotFound')
    assert api.ok(api.get(f"/v2.0/ports/{port['id']}", headers=headers))[
        'port']['security_groups'] == port['security_groups']


def test_stateful_and_stateless_do_not_mix(api, member, project):
    headers = member(project)
    net = _net(api, headers)
    stateful, stateless = _group(api, headers), _group(api, headers,
                                                       stateful=False)
    assert stateless['stateful'] is False
    api.error(_port(api, headers, net, status=409, security_groups=[
        stateful['id'], stateless['id']]), 409, 'SecurityGroupConflict')


def test_port_security_off_means_no_groups(api, member, project):
    headers = member(project)
    net = _net(api, headers, port_security_enabled=False)
    assert net['port_security_enabled'] is False
    port = _port(api, headers, net)
    assert (port['port_security_enabled'], port['security_groups']) == \
        (False, [])
    group = _group(api, headers)
    message = ('Port security must be enabled and port must have an IP '
               'address in order to use security groups.')
    api.error(_port(api, headers, net, status=400,
                    security_groups=[group['id']]), 400,
              'PortSecurityAndIPRequiredForSecurityGroups', message)
    api.error(_update(api, headers, port, status=400,
                      security_groups=[group['id']]), 400,
              'PortSecurityAndIPRequiredForSecurityGroups')
    # On for this port only: it may have groups, and gets the default.
    on = _port(api, headers, net, port_security_enabled=True)
    assert on['security_groups'] == [_default(api, headers)]
    # Off while it has groups: 409; off with the groups removed: fine.
    api.error(_update(api, headers, on, status=409,
                      port_security_enabled=False), 409,
              'PortSecurityPortHasSecurityGroup')
    off = _update(api, headers, on, port_security_enabled=False,
                  security_groups=[])
    assert (off['port_security_enabled'], off['security_groups']) == \
        (False, [])
    back = _update(api, headers, off, port_security_enabled=True,
                   security_groups=[group['id']])
    assert back['security_groups'] == [group['id']]
    # The network's flag changes what new ports inherit.
    api.ok(api.put(f"/v2.0/networks/{net['id']}", headers=headers, json={
        'network': {'port_security_enabled': True}}))
    assert _port(api, headers, net)['port_security_enabled'] is True


def test_first_network_of_a_project_makes_its_default_group(
        api, member, project):
    headers = member(project)
    _net(api, headers)
    groups = api.ok(api.get(SG)).get('security_groups')
    assert [g['name'] for g in groups if g['project_id'] == project] == [
        'default']


def test_port_security_on_anothers_network_is_forbidden(api, member,
                                                        project):
    net = api.ok(api.post('/v2.0/networks', json={'network': {
        'name': unique(), 'shared': True}}), 201)['network']
    api.ok(api.post('/v2.0/subnets', json={'subnet': {
        'network_id': net['id'], 'cidr': '10.78.0.0/24', 'ip_version': 4}}),
        201)
    headers = member(project)
    api.error(_port(api, headers, net, status=403,
                    port_security_enabled=False), 403)
    port = _port(api, headers, net)
    assert port['port_security_enabled'] is True


def test_filters_on_the_derived_attributes(api, member, project):
    headers = member(project)
    off = _net(api, headers, port_security_enabled=False)
    on = _net(api, headers)

    def ids(path, **params):
        body = api.ok(api.get(path, headers=headers, params=params))
        return {item['id'] for item in next(iter(body.values()))}
    # Shared networks of other tests are listed too: only ours count.
    mine = {off['id'], on['id']}
    assert ids('/v2.0/networks', port_security_enabled='false') & mine == {
        off['id']}
    assert ids('/v2.0/networks', port_security_enabled='true') & mine == {
        on['id']}
    open_port, guarded = _port(api, headers, off), _port(api, headers, on)
    assert ids('/v2.0/ports', port_security_enabled='false') == {
        open_port['id']}
    assert ids('/v2.0/ports', port_security_enabled='true') == {
        guarded['id']}
    default = _default(api, headers)
    assert ids(SG, shared='false') >= {default}
    assert ids(SG, shared='true') == set()
    rules = ids('/v2.0/security-group-rules', belongs_to_default_sg='true')
    assert len(rules) == 4
    assert ids('/v2.0/security-group-rules',
               belongs_to_default_sg='false') & rules == set()
