"""port-mac-address-regenerate: PUT a port with "mac_address": null and it
gets a new random MAC from base_mac (neutron-lib's convert_to_mac_if_none),
under the update_port:mac_address rule (admins, as Neutron's policy)."""
from __future__ import annotations

import re

BASE_MAC = re.compile(r'fa:16:3e(:[0-9a-f]{2}){3}')


def test_admin_regenerates_a_mac(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    api.subnet(net['id'], '10.63.0.0/24', headers=headers)
    port = api.port(net['id'], headers=headers)
    seen = {port['mac_address']}
    for _ in range(3):
        updated = api.update('port', port['id'], mac_address=None)
        assert BASE_MAC.fullmatch(updated['mac_address']), updated
        assert updated['mac_address'] not in seen
        assert updated['revision_number'] > port['revision_number']
        seen.add(updated['mac_address'])
        port = updated
    assert api.show('port', port['id'])['mac_address'] == port['mac_address']
    # The addresses stay.
    assert [ip['ip_address'] for ip in port['fixed_ips']] == \
        [ip['ip_address'] for ip in api.show('port', port['id'])['fixed_ips']]


def test_project_may_not_regenerate(api, member, project):
    headers = member(project)
    net = api.network(headers=headers)
    port = api.port(net['id'], headers=headers)
    resp = api.put(f"/v2.0/ports/{port['id']}", headers=headers,
                   json={'port': {'mac_address': None}})
    api.error(resp, 403, 'PolicyNotAuthorized')
    assert api.show('port', port['id'])['mac_address'] == port['mac_address']


def test_null_mac_on_create_is_a_random_one(api, member, project):
    net = api.network(headers=member(project))
    port = api.port(net['id'], headers=member(project), mac_address=None)
    assert BASE_MAC.fullmatch(port['mac_address']), port


def test_extension_is_listed(api):
    aliases = {e['alias'] for e in
               api.ok(api.get('/v2.0/extensions'))['extensions']}
    assert 'port-mac-address-regenerate' in aliases
