"""ip-substring-filtering: GET /v2.0/ports?fixed_ips=ip_address_substr=Z
lists the ports holding an address that contains Z, as Neutron does
(Tempest's test_port_list_filter_by_ip_substr)."""
from __future__ import annotations

from tests.support.rest import Api


def _found(api: Api, *filters: str, **params: str) -> list[str]:
    return sorted(p['id'] for p in api.list(
        'ports', {'fixed_ips': list(filters), **params}))


def test_ip_substring_filter_lists_ports_by_part_of_an_address(
        api: Api) -> None:
    net = api.network()
    sub4 = api.subnet(net['id'], '10.42.0.0/24')
    sub6 = api.subnet(net['id'], '2001:db8:42::/64', enable_dhcp=False)
    nine = api.port(net['id'], fixed_ips=[{'ip_address': '10.42.0.9'}])
    ninety = api.port(net['id'], fixed_ips=[
        {'ip_address': '10.42.0.90'}, {'ip_address': '2001:db8:42::abc'}])
    other = api.port(net['id'], fixed_ips=[{'ip_address': '10.42.0.17'}])
    on_net = {'network_id': net['id']}

    assert _found(api, 'ip_address_substr=10.42.0.9', **on_net) == sorted(
        [nine['id'], ninety['id']])
    assert _found(api, 'ip_address_substr=0.90', **on_net) == [ninety['id']]
    assert _found(api, 'ip_address_substr=:abc', **on_net) == [ninety['id']]
    # Several substrings: any of them; with another key: an address
    # matching both, as with ip_address and subnet_id.
    assert _found(api, 'ip_address_substr=.17', 'ip_address_substr=.90',
                  **on_net) == sorted([ninety['id'], other['id']])
    assert _found(api, 'ip_address_substr=10.42.0.9',
                  f"subnet_id={sub4['id']}") == sorted(
        [nine['id'], ninety['id']])
    assert _found(api, 'ip_address_substr=db8:42',
                  f"subnet_id={sub6['id']}") == [ninety['id']]
    assert _found(api, 'ip_address_substr=10.42.0.9',
                  f"subnet_id={sub6['id']}") == []
    # Literal text: LIKE's wildcards match nothing here.
    assert _found(api, 'ip_address_substr=10_42', **on_net) == []
    assert _found(api, 'ip_address_substr=%', **on_net) == []
    api.error(api.get('/v2.0/ports',
                      params={'fixed_ips': 'ip_address_substr='}), 400)


def test_ip_substring_filtering_is_listed(api: Api) -> None:
    aliases = {e['alias'] for e in api.list('extensions')}
    assert 'ip-substring-filtering' in aliases
