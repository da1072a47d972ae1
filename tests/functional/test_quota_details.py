"""quota_details and quota-check-limit-default, as Neutron serves them.

GET /v2.0/quotas/<project>/details gives limit, used and reserved per
resource; PUT of a limit below what the project already uses is a 400
unless the body carries "force": true (Neutron's quotasv2.update).
"""
from __future__ import annotations


def test_details_count_what_the_project_holds(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.61.0.0/24', headers=headers)
    api.port(net['id'], headers=headers)
    api.ok(api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'network': 2, 'port': 2}}))
    quota = api.ok(api.get(f'/v2.0/quotas/{project}/details'))['quota']
    assert quota['network'] == {'limit': 2, 'used': 1, 'reserved': 0}
    assert quota['port'] == {'limit': 2, 'used': 1, 'reserved': 0}
    assert quota['subnet'] == {'limit': 100, 'used': 1, 'reserved': 0}
    # The project reads its own details; another project may not.
    own = api.ok(api.get(f'/v2.0/quotas/{project}/details',
                         headers=headers))['quota']
    assert own == quota
    api.error(api.get(f'/v2.0/quotas/{project}/details',
                      headers=member('someone-else')), 403)


def test_limit_below_usage_is_400_unless_forced(api, member, project):
    headers = member(project)
    api.network(headers=headers)
    api.network(headers=headers)
    resp = api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'network': 1}})
    api.error(resp, 400, 'HTTPBadRequest',
              'Quota limit 1 for network must be greater than or equal to '
              'already used 2')
    # Nothing of a refused update is kept, not even its valid parts.
    resp = api.put(f'/v2.0/quotas/{project}',
                   json={'quota': {'port': 7, 'network': 0}})
    api.error(resp, 400, 'HTTPBadRequest')
    quota = api.ok(api.get(f'/v2.0/quotas/{project}'))['quota']
    assert (quota['network'], quota['port']) == (100, 500)
    # Only a JSON true forces; "force": false or a string checks usage.
    for force in (False, 'yes'):
        resp = api.put(f'/v2.0/quotas/{project}',
                       json={'quota': {'network': 0, 'force': force}})
        api.error(resp, 400, 'HTTPBadRequest')
    # Equal to usage, -1, and a forced lower limit all pass.
    for quota_body, expected in (({'network': 2}, 2),
                                 ({'network': -1}, -1),
                                 ({'network': 0, 'force': True}, 0)):
        quota = api.ok(api.put(f'/v2.0/quotas/{project}',
                               json={'quota': quota_body}))['quota']
        assert quota['network'] == expected and 'force' not in quota
    # The deprecated check_limit key is accepted and ignored.
    api.ok(api.put(f'/v2.0/quotas/{project}', json={'quota': {
        'network': 5, 'check_limit': True}}))


def test_extensions_are_listed(api):
    aliases = {e['alias'] for e in
               api.ok(api.get('/v2.0/extensions'))['extensions']}
    assert {'quota_details', 'quota-check-limit-default'} <= aliases
