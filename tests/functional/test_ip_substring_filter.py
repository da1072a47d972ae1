"""ip-substring-filtering: GET /v2.0/ports?fixed_ips=ip_address_substr=X
lists the ports one of whose addresses contains X (Neutron's ML2
_get_ports_query), alone or with the ip_address / subnet_id filters."""
from __future__ import annotations

from tests.support.rest import unique


def _found(api, headers=None, **params) -> set[str]:
    return {p['id'] for p in api.list('ports', params, headers=headers)}


def test_substring_of_v4_and_v6_addresses(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    v4 = api.subnet(net['id'], '10.62.0.0/24', headers=headers)
    v6 = api.subnet(net['id'], '2001:db8:62::/64', headers=headers)
    a = api.port(net['id'], headers=headers, fixed_ips=[
        {'subnet_id': v4['id'], 'ip_address': '10.62.0.19'},
        {'subnet_id': v6['id'], 'ip_address': '2001:db8:62::a19'}])
    b = api.port(net['id'], headers=headers, fixed_ips=[
        {'subnet_id': v4['id'], 'ip_address': '10.62.0.20'}])
    c = api.port(net['id'], headers=headers, fixed_ips=[
        {'subnet_id': v4['id'], 'ip_address': '10.62.0.120'}])

    def found(value):
        return _found(api, headers, network_id=net['id'], fixed_ips=value)

    assert found('ip_address_substr=10.62.0.1') == {a['id'], c['id']}
    assert found('ip_address_substr=0.20') == {b['id']}
    # Any of the port's addresses: '20' is in a's 2001:db8:62::a19 too.
    assert found('ip_address_substr=20') == {a['id'], b['id'], c['id']}
    assert found('ip_address_substr=db8:62::a1') == {a['id']}
    assert found('ip_address_substr=10.62.0.') >= {a['id'], b['id'],
                                                    c['id']}
    # Several substrings: any of them (Neutron ORs them).
    assert found(['ip_address_substr=.19', 'ip_address_substr=.120']) == \
        {a['id'], c['id']}
    # With the exact filters: both must hold (each on any of the
    # port's addresses, as Neutron's separate any() clauses).
    assert found(['ip_address_substr=.1',
                  f"subnet_id={v6['id']}"]) == {a['id']}
    assert found(['ip_address_substr=.20',
                  'ip_address=10.62.0.20']) == {b['id']}
    # LIKE's wildcards are plain text here, and no address holds them.
    assert found('ip_address_substr=%') == set()
    assert found('ip_address_substr=10_62') == set()
    assert found('ip_address_substr=10.99.') == set()
    # Another project sees none of these ports.
    assert _found(api, member(unique('proj')),
                  fixed_ips='ip_address_substr=10.62.0.1') == set()
    # An empty substring or an unknown key is refused.
    for value in ('ip_address_substr=', 'ip_substr=10', 'ip_address_substr'):
        resp = api.get('/v2.0/ports', params={'fixed_ips': value})
        api.error(resp, 400, 'InvalidInput')


def test_extension_is_listed(api):
    aliases = {e['alias'] for e in
               api.ok(api.get('/v2.0/extensions'))['extensions']}
    assert 'ip-substring-filtering' in aliases
