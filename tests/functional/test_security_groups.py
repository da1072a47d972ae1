"""Security groups, rules and default rules over real HTTP, as Neutron
answers them (neutron/db/securitygroups_db.py, the security-group
extension's converters and errors)."""
from __future__ import annotations

import pytest

from tests.support.rest import unique

SG = '/v2.0/security-groups'
RULES = '/v2.0/security-group-rules'
DEFAULTS = '/v2.0/default-security-group-rules'


def _groups(api, headers, **params):
    return api.ok(api.get(SG, headers=headers, params=params))[
        'security_groups']


def _group(api, headers, **body):
    body.setdefault('name', unique('sg'))
    return api.ok(api.post(SG, headers=headers,
                           json={'security_group': body}), 201)[
        'security_group']


def _rule(api, headers, group_id, status=201, **body):
    body.setdefault('direction', 'ingress')
    resp = api.post(RULES, headers=headers, json={'security_group_rule': dict(
        body, security_group_id=group_id)})
    return resp if status != 201 else api.ok(resp, 201)['security_group_rule']


def _shape(rule):
    return (rule['direction'], rule['ethertype'], rule['protocol'],
            rule['remote_ip_prefix'],
            'self' if rule['remote_group_id'] == rule['security_group_id']
            else rule['remote_group_id'])


def test_first_list_creates_one_default_group_with_neutrons_rules(
        api, member, project):
    headers = member(project)
    groups = _groups(api, headers)
    assert [g['name'] for g in groups] == ['default']
    default = groups[0]
    assert default['description'] == 'Default security group'
    assert default['project_id'] == default['tenant_id'] == project
    assert default['stateful'] is True and default['shared'] is False
    assert sorted(_shape(r) for r in default['security_group_rules']) == [
        ('egress', 'IPv4', None, None, None),
        ('egress', 'IPv6', None, None, None),
        ('ingress', 'IPv4', None, None, 'self'),
        ('ingress', 'IPv6', None, None, 'self')]
    assert all(r['belongs_to_default_sg']
               for r in default['security_group_rules'])
    assert all(r['remote_address_group_id'] is None
               for r in default['security_group_rules'])
    # Listing again does not make another one.
    assert [g['id'] for g in _groups(api, headers)] == [default['id']]
    # Rules listed by the project are the default group's.
    rules = api.ok(api.get(RULES, headers=headers))['security_group_rules']
    assert {r['id'] for r in rules} == {
        r['id'] for r in default['security_group_rules']}


def test_new_group_gets_egress_rules_crud_and_revision(api, member, project):
    headers = member(project)
    group = _group(api, headers, description='web')
    assert sorted(_shape(r) for r in group['security_group_rules']) == [
        ('egress', 'IPv4', None, None, None),
        ('egress', 'IPv6', None, None, None)]
    assert not any(r['belongs_to_default_sg']
                   for r in group['security_group_rules'])
    assert {g['name'] for g in _groups(api, headers)} == {'default',
                                                          group['name']}
    renamed = api.ok(api.put(f"{SG}/{group['id']}", headers=headers,
                             json={'security_group': {'name': 'web2'}}))
    assert renamed['security_group']['name'] == 'web2'
    assert renamed['security_group']['revision_number'] == \
        group['revision_number'] + 1
    rule = _rule(api, headers, group['id'], protocol='tcp',
                 port_range_min=80, port_range_max=80,
                 remote_ip_prefix='10.9.0.7/24')
    assert rule['remote_ip_prefix'] == '10.9.0.7/24'
    assert rule['normalized_cidr'] == '10.9.0.0/24'
    shown = api.ok(api.get(f"{SG}/{group['id']}", headers=headers))[
        'security_group']
    assert rule['id'] in {r['id'] for r in shown['security_group_rules']}
    assert shown['revision_number'] == group['revision_number'] + 2
    api.ok(api.delete(f"{RULES}/{rule['id']}", headers=headers), 204)
    api.error(api.get(f"{RULES}/{rule['id']}", headers=headers), 404,
              'SecurityGroupRuleNotFound')
    api.ok(api.delete(f"{SG}/{group['id']}", headers=headers), 204)
    api.error(api.get(f"{SG}/{group['id']}", headers=headers), 404,
              'SecurityGroupNotFound')


def test_default_group_name_rules(api, member, project):
    headers = member(project)
    api.error(api.post(SG, headers=headers,
                       json={'security_group': {'name': 'Default'}}), 409,
              'SecurityGroupDefaultAlreadyExists')
    default = _groups(api, headers, name='default')[0]
    api.error(api.put(f"{SG}/{default['id']}", headers=headers,
                      json={'security_group': {'name': 'x'}}), 409,
              'SecurityGroupCannotUpdateDefault')
    api.error(api.delete(f"{SG}/{default['id']}", headers=headers), 409,
              'SecurityGroupCannotRemoveDefault')
    other = _group(api, headers)
    api.error(api.put(f"{SG}/{other['id']}", headers=headers,
                      json={'security_group': {'name': 'default'}}), 409,
              'SecurityGroupDefaultAlreadyExists')
    # The admin may delete it; the next use makes a new one.
    api.ok(api.delete(f"{SG}/{default['id']}"), 204)
    again = _groups(api, headers, name='default')
    assert len(again) == 1 and again[0]['id'] != default['id']


def test_other_projects_groups_are_invisible(api, member, project):
    mine = _group(api, member(project))
    other = member(unique('proj'))
    api.error(api.get(f"{SG}/{mine['id']}", headers=other), 404,
              'SecurityGroupNotFound')
    assert mine['id'] not in {g['id'] for g in _groups(api, other)}
    theirs = _groups(api, other)[0]
    # A rule in another project's group, or naming it as remote: 404.
    api.error(_rule(api, other, mine['id'], status=404), 404,
              'SecurityGroupNotFound')
    api.error(_rule(api, member(project), mine['id'], status=404,
                    remote_group_id=theirs['id']), 404,
              'SecurityGroupNotFound')


@pytest.mark.parametrize('body, status, type_, message', [
    ({'protocol': 'tcp', 'port_range_min': -16, 'port_range_max': 80}, 400,
     'SecurityGroupInvalidPortValue', 'Invalid value for port -16'),
    ({'protocol': 'tcp', 'port_range_min': 80, 'port_range_max': 79}, 400,
     'SecurityGroupInvalidPortRange',
     'port_range_min must be <= port_range_max'),
    ({'protocol': 'tcp', 'port_range_max': 6}, 400,
     'SecurityGroupInvalidPortRange', 'port_range_min must be <='),
    ({'protocol': 'tcp', 'port_range_min': 80, 'port_range_max': 65536},
     400, 'SecurityGroupInvalidPortValue', 'Invalid value for port 65536'),
    ({'protocol': 'icmp', 'port_range_min': 1, 'port_range_max': 256}, 400,
     'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP code'),
    ({'protocol': 'icmp', 'port_range_min': 300, 'port_range_max': 1}, 400,
     'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP type'),
    ({'protocol': 'icmp', 'port_range_max': 6}, 400,
     'SecurityGroupMissingIcmpType', 'ICMP type (port-range-min) is '
     'missing'),
    ({'protocol': 'gre', 'port_range_min': 1, 'port_range_max': 2}, 400,
     'SecurityGroupInvalidProtocolForPort', 'Ports cannot be specified for '
     'protocol 47'),
    ({'port_range_min': 22, 'port_range_max': 22}, 400,
     'SecurityGroupProtocolRequiredWithPorts', None),
    ({'protocol': 'tcp-ish'}, 400, 'SecurityGroupRuleInvalidProtocol',
     'Security group rule protocol tcp-ish not supported'),
    ({'protocol': 256}, 400, 'SecurityGroupRuleInvalidProtocol', None),
    ({'protocol': '6\n'}, 400, 'SecurityGroupRuleInvalidProtocol', None),
    ({'protocol': True}, 400, 'SecurityGroupRuleInvalidProtocol', None),
    ({'ethertype': 'IPv5'}, 400, 'SecurityGroupRuleInvalidEtherType', None),
    ({'ethertype': 'IPv6', 'protocol': 'tcp',
      'remote_ip_prefix': '10.0.0.0/8'}, 400,
     'SecurityGroupRuleParameterConflict', 'Conflicting value ethertype'),
    ({'protocol': 'ipv6-icmp'}, 400,
     'SecurityGroupEthertypeConflictWithProtocol', None),
    ({'remote_ip_prefix': '192.168.1./24'}, 400, 'InvalidCIDR', None),
    ({'remote_ip_prefix': '10.0.0.1/33'}, 400, 'InvalidCIDR', None),
    ({'remote_ip_prefix': '256'}, 400, 'InvalidCIDR', None),
    ({'remote_ip_prefix': '10.0.0.0/8\x00'}, 400, 'InvalidCIDR', None),
    ({'remote_ip_prefix': ['10.0.0.0/8']}, 400, 'InvalidCIDR', None),
    ({'remote_ip_prefix': '10.0.0.0/8', 'remote_group_id': 'SELF'}, 400,
     'SecurityGroupMultipleRemoteEntites', None),
    ({'remote_group_id': 'bad_group_id'}, 404, 'SecurityGroupNotFound',
     None),
    ({'direction': 'sideways'}, 400, 'HTTPBadRequest', None),
    ({'direction': None}, 400, 'HTTPBadRequest', None),
])
def test_rule_validation_matrix(api, member, project, body, status, type_,
                                message):
    headers = member(project)
    group = _group(api, headers)
    if body.get('remote_group_id') == 'SELF':
        body = dict(body, remote_group_id=group['id'])
    api.error(_rule(api, headers, group['id'], status=status, **body),
              status, type_, message)
    rules = _groups(api, headers, id=group['id'])[0]['security_group_rules']
    assert len(rules) == 2      # nothing half-written


def test_protocols_by_name_number_any_and_legacy_icmpv6(api, member,
                                                        project):
    headers = member(project)
    group = _group(api, headers)
    assert _rule(api, headers, group['id'], protocol='TCP')['protocol'] == \
        'tcp'
    assert _rule(api, headers, group['id'], protocol=17)['protocol'] == '17'
    assert _rule(api, headers, group['id'], protocol='any')['protocol'] is \
        None
    legacy = _rule(api, headers, group['id'], protocol='icmpv6',
                   ethertype='ipv6')
    assert (legacy['protocol'], legacy['ethertype']) == ('ipv6-icmp', 'IPv6')
    number = _rule(api, headers, group['id'], protocol='1',
                   ethertype='IPv6', direction='egress')
    assert number['protocol'] == '58'
    host = _rule(api, headers, group['id'], remote_ip_prefix='2001:db8::1',
                 ethertype='IPv6', protocol='udp')
    assert host['remote_ip_prefix'] == '2001:db8::1/128'
    whole = _rule(api, headers, group['id'], protocol='sctp',
                  port_range_min=1, port_range_max=65535)
    assert (whole['port_range_min'], whole['port_range_max']) == (None, None)
    api.error(_rule(api, headers, group['id'], status=409, protocol='any'),
              409, 'SecurityGroupRuleExists')
    # tcp and 6 are one protocol: a duplicate.
    _rule(api, headers, group['id'], protocol='tcp', port_range_min=22,
          port_range_max=22)
    api.error(_rule(api, headers, group['id'], status=409, protocol='6',
                    port_range_min='22', port_range_max=22), 409,
              'SecurityGroupRuleExists')
    listed = api.ok(api.get(RULES, headers=headers, params={
        'security_group_id': group['id'], 'protocol': 'udp'}))
    assert [r['id'] for r in listed['security_group_rules']] == [host['id']]


def test_bulk_rules_are_one_group_and_no_duplicates(api, member, project):
    headers = member(project)
    group, other = _group(api, headers), _group(api, headers)
    rule = {'direction': 'ingress', 'protocol': 'tcp',
            'security_group_id': group['id']}
    api.error(api.post(RULES, headers=headers, json={
        'security_group_rules': [rule, dict(rule)]}), 409,
        'DuplicateSecurityGroupRuleInPost')
    api.error(api.post(RULES, headers=headers, json={
        'security_group_rules': [rule, dict(rule, security_group_id=other[
            'id'])]}), 400, 'SecurityGroupNotSingleGroupRules')
    created = api.ok(api.post(RULES, headers=headers, json={
        'security_group_rules': [rule, dict(rule, protocol='udp')]}), 201)
    assert len(created['security_group_rules']) == 2


def test_group_delete_in_use_and_remote_rules_go_with_it(api, member,
                                                         project):
    headers = member(project)
    net = api.ok(api.post('/v2.0/networks', headers=headers,
                          json={'network': {'name': unique()}}), 201)[
        'network']
    used, remote, keeper = (_group(api, headers) for _ in range(3))
    port = api.ok(api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': net['id'], 'security_groups': [used['id']]}}), 201)[
        'port']
    api.error(api.delete(f"{SG}/{used['id']}", headers=headers), 409,
              'SecurityGroupInUse', 'in use')
    api.error(api.put(f"{SG}/{used['id']}", headers=headers, json={
        'security_group': {'stateful': False}}), 409, 'SecurityGroupInUse')
    naming = _rule(api, headers, keeper['id'], remote_group_id=remote['id'])
    api.ok(api.delete(f"{SG}/{remote['id']}", headers=headers), 204)
    api.error(api.get(f"{RULES}/{naming['id']}", headers=headers), 404)
    api.ok(api.delete(f"/v2.0/ports/{port['id']}", headers=headers), 204)
    api.ok(api.delete(f"{SG}/{used['id']}", headers=headers), 204)


def test_quotas_for_groups_and_rules(api, member, project):
    headers = member(project)
    api.ok(api.put(f'/v2.0/quotas/{project}', json={'quota': {
        'security_group': 2, 'security_group_rule': 7, 'force': True}}))
    group = _group(api, headers)       # the default group and this one
    api.error(api.post(SG, headers=headers, json={'security_group': {
        'name': 'third'}}), 409, 'OverQuota', 'security_group')
    _rule(api, headers, group['id'], protocol='tcp')   # 4 + 2 + 1
    api.error(_rule(api, headers, group['id'], status=409, protocol='udp'),
              409, 'OverQuota', 'security_group_rule')
    details = api.ok(api.get(f'/v2.0/quotas/{project}/details'))['quota']
    assert details['security_group'] == {'limit': 2, 'used': 2,
                                         'reserved': 0}
    assert details['security_group_rule'] == {'limit': 7, 'used': 7,
                                              'reserved': 0}
    defaults = api.ok(api.get(f'/v2.0/quotas/{project}/default'))['quota']
    assert (defaults['security_group'],
            defaults['security_group_rule']) == (10, 100)


def test_default_rules_template(api, member, project):
    listed = api.ok(api.get(DEFAULTS))['default_security_group_rules']
    assert sorted((r['direction'], r['ethertype'], r['remote_group_id'],
                   r['used_in_default_sg'], r['used_in_non_default_sg'])
                  for r in listed) == [
        ('egress', 'IPv4', None, True, True),
        ('egress', 'IPv6', None, True, True),
        ('ingress', 'IPv4', 'PARENT', True, False),
        ('ingress', 'IPv6', 'PARENT', True, False)]
    # neutron-lib's template rules carry remote_address_group_id; kaon has
    # no address groups: always null, and not something to set.
    assert {r['remote_address_group_id'] for r in listed} == {None}
    assert sorted(r['description'] for r in listed) == [
        f'Legacy default SG rule for {d} traffic'
        for d in ('egress', 'egress', 'ingress', 'ingress')]
    api.error(api.post(DEFAULTS, json={'default_security_group_rule': {
        'direction': 'egress', 'used_in_default_sg': True,
        'used_in_non_default_sg': True,
        'remote_address_group_id': '7c9e6679-7425-40de-944b-e07fc1f90ae7'}}),
        400)
    # Readers see the template; only the admin changes it.
    assert len(api.ok(api.get(DEFAULTS, headers=member(project)))[
        'default_security_group_rules']) == len(listed)
    body = {'direction': 'ingress', 'protocol': 'tcp', 'port_range_min': 22,
            'port_range_max': 22, 'used_in_default_sg': False,
            'used_in_non_default_sg': True}
    api.error(api.post(DEFAULTS, headers=member(project), json={
        'default_security_group_rule': body}), 403)
    new = api.ok(api.post(DEFAULTS, json={
        'default_security_group_rule': body}), 201)[
        'default_security_group_rule']
    try:
        api.error(api.post(DEFAULTS, json={'default_security_group_rule': dict(
            body, used_in_default_sg=True)}), 409,
            'DefaultSecurityGroupRuleExists')
        group = _group(api, member(project))
        assert ('ingress', 'IPv4', 'tcp', None, None) in {
            _shape(r) for r in group['security_group_rules']}
        default = _groups(api, member(project), name='default')[0]
        assert 'tcp' not in {r['protocol']
                             for r in default['security_group_rules']}
    finally:
        api.ok(api.delete(f"{DEFAULTS}/{new['id']}"), 204)
    api.error(api.get(f"{DEFAULTS}/{new['id']}"), 404,
              'DefaultSecurityGroupRuleNotFound')


def test_extensions_listed(api):
    aliases = {e['alias'] for e in api.ok(api.get('/v2.0/extensions'))[
        'extensions']}
    assert {'security-group', 'security-groups-default-rules',
            'security-groups-normalized-cidr', 'stateful-security-group',
            'port-security', 'quota_details'} <= aliases


def test_default_group_comes_back_on_port_update_and_rule_quota_gates_groups(
        api, member, project):
    headers = member(project)
    net = api.ok(api.post('/v2.0/networks', headers=headers,
                          json={'network': {'name': unique()}}), 201)[
        'network']
    port = api.ok(api.post('/v2.0/ports', headers=headers, json={'port': {
        'network_id': net['id'], 'security_groups': []}}), 201)['port']
    default = _groups(api, headers, name='default')[0]
    api.ok(api.delete(f"{SG}/{default['id']}"), 204)
    api.ok(api.put(f"/v2.0/ports/{port['id']}", headers=headers,
                   json={'port': {'name': 'update'}}))
    assert len(api.ok(api.get(SG, params={
        'project_id': project, 'name': 'default'}))['security_groups']) == 1
    # A new group's two template rules need a rule quota of two (the
    # default group's four rules already exceed it: only a forced limit
    # may sit below usage, quota-check-limit-default).
    api.ok(api.put(f'/v2.0/quotas/{project}', json={'quota': {
        'security_group_rule': 1, 'force': True}}))
    api.error(api.post(SG, headers=headers, json={'security_group': {
        'name': 'x'}}), 409, 'OverQuota', 'security_group_rule')
    assert [g['name'] for g in _groups(api, headers)] == ['default']


def test_group_owner_sees_and_deletes_a_rule_an_admin_put_in_its_group(
        api, member, project):
    """Neutron's sg_owner rule: a rule the admin added (owned by the
    admin's project) to a member's group is in the member's listing, can be
    shown and deleted by the member; another project sees none of it."""
    headers = member(project)
    group = _group(api, headers)
    admins = _rule(api, {}, group['id'], protocol='tcp', port_range_min=22,
                   port_range_max=22)
    assert admins['project_id'] != project
    listed = api.ok(api.get(RULES, headers=headers, params={
        'security_group_id': group['id']}))['security_group_rules']
    assert admins['id'] in {r['id'] for r in listed}
    api.ok(api.get(f"{RULES}/{admins['id']}", headers=headers))
    other = member(unique('proj'))
    api.error(api.get(f"{RULES}/{admins['id']}", headers=other), 404)
    assert admins['id'] not in {r['id'] for r in api.ok(api.get(
        RULES, headers=other))['security_group_rules']}
    api.ok(api.delete(f"{RULES}/{admins['id']}", headers=headers), 204)
    api.error(api.get(f"{RULES}/{admins['id']}"), 404)
