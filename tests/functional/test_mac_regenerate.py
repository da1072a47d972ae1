"""port-mac-address-regenerate: PUT a port's mac_address as null gives it
a new random MAC (Neutron's extension; Tempest's test_regenerate_mac_address).
"""
from __future__ import annotations

from kaon.ipam import mac as macs
from tests.support.rest import Api


def test_null_mac_address_regenerates_it(api: Api) -> None:
    net = api.network()
    port = api.port(net['id'])
    updated = api.update('port', port['id'], mac_address=None)
    assert updated['mac_address'] != port['mac_address']
    assert macs.normalize(updated['mac_address']) == updated['mac_address']
    assert updated['mac_address'].startswith('fa:16:3e:')
    assert api.show('port', port['id'])['mac_address'] == \
        updated['mac_address']
    assert 'port-mac-address-regenerate' in {
        e['alias'] for e in api.list('extensions')}


def test_null_mac_address_on_create_is_a_random_one(api: Api) -> None:
    net = api.network()
    first = api.port(net['id'], mac_address=None)
    second = api.port(net['id'], mac_address=None)
    assert first['mac_address'] != second['mac_address']
    assert first['mac_address'].startswith('fa:16:3e:')
