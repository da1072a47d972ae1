"""Property-based fuzzing of network, subnet and port bodies (issue 9).

Hypothesis throws near-miss addresses (a valid address with a scope ID, a
newline, a comma, whitespace or a NUL added; other spellings of it), random
text, numbers and nested values at each attribute of a real server's
networks, subnets and ports.  Whatever the body, the API answers below 500
(the `api` client fails on any 5xx), and whatever it accepts is stored and
shown with canonical addresses, of the subnet's IP version, and with no
character that could start a new line or field in dnsmasq's files.

One server for the session (the `api` fixture) and a few networks for the
module; each example removes what it created, so examples do not
interfere, and the module stays bounded (600 examples, under a minute).
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.support.rest import unique

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

# Appended or prepended to a good value: each is a way out of a dnsmasq
# line or field, or a spelling Python's ipaddress would tolerate.
JUNK = st.sampled_from([' ', '\n', '\t', '\r\n', ',', '\x00', '/32', '/64',
                        '\u00a0', '\u2028', '', '%', '%eth0', '%1', '%y',
                        '%\ndhcp-host=x', '%,set:y', '%\n'])
TEXT = st.text(max_size=24)
PRINTABLE = st.text(st.characters(blacklist_categories=('Cc', 'Cs')),
                    max_size=24)
# NaN and the infinities too: Python's JSON parser reads them.
NUMBERS = st.one_of(st.integers(), st.integers(-2 ** 80, 2 ** 80),
                    st.floats(), st.sampled_from([
                        float('inf'), float('-inf'), float('nan'), 10 ** 23,
                        2 ** 31, -2 ** 31 - 1, 1e300]))
NESTED = st.recursive(
    st.none() | st.booleans() | TEXT | NUMBERS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)
ANY = st.one_of(TEXT, NUMBERS, NESTED)


def _v6_spellings(value: int) -> st.SearchStrategy[str]:
    address = ipaddress.IPv6Address(int(ipaddress.IPv6Address('fd00:70::'))
                                    + value)
    return st.sampled_from([str(address), address.exploded,
                            address.exploded.upper(),
                            f'fd00:70:0::{value:04x}'])


V4 = st.integers(0, 255).map(lambda last: f'10.70.0.{last}')
V6 = st.integers(0, 0xffff).flatmap(_v6_spellings)
FAMILY_ADDRESS = {4: V4, 6: V6}


def spoiled(good: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A good value with junk before or after it, or anything at all."""
    return st.one_of(st.tuples(JUNK, good).map(''.join),
                     st.tuples(good, JUNK).map(''.join), ANY)


BAD_ADDRESS = st.one_of(spoiled(V4), spoiled(V6), V4, V6)
CIDRS = [('10.70.0.0/24', 4), ('10.70.0.0/30', 4), ('10.70.0.4/31', 4),
         ('10.70.0.9/32', 4), ('10.70.0.1/24', 4), ('fd00:70::/64', 6),
         ('FD00:70:0::/64', 6), ('fd00:70::/127', 6), ('fe80::/64', 6)]
ROUTE_DESTINATIONS = {4: st.sampled_from(['10.71.0.0/24', '0.0.0.0/0']),
                      6: st.sampled_from(['fd00:71::/64', '::/0'])}
BAD_CIDR = spoiled(st.sampled_from([c for c, _ in CIDRS]))
MACS = st.sampled_from(['fa:16:3e:11:22:33', 'FA-16-3E-11-22-34',
                        'fa163e112235', 'fa16.3e11.2236'])


def a_list(item: st.SearchStrategy) -> st.SearchStrategy[list]:
    return st.lists(item, max_size=3, unique_by=repr)


def body(fields: dict[str, tuple[st.SearchStrategy, st.SearchStrategy]]
         ) -> st.SearchStrategy[dict]:
    """Good values for any subset of the fields, and bad ones for up to
    two of them: most bodies are then refused for one reason, and enough
    are accepted to check what is stored."""
    good = st.fixed_dictionaries({}, optional={
        name: pair[0] for name, pair in fields.items()})
    bad = st.sampled_from(sorted(fields)).flatmap(
        lambda name: st.tuples(st.just(name), fields[name][1]))
    return st.tuples(good, st.lists(bad, max_size=2)).map(
        lambda parts: {**parts[0], **dict(parts[1])})


NETWORK = body({
    'name': (PRINTABLE, ANY),
    'mtu': (st.integers(68, 1500), st.one_of(NUMBERS, ANY)),
    'admin_state_up': (st.booleans(), ANY),
    'description': (PRINTABLE, ANY),
    'tags': (a_list(st.text('abcxyz', min_size=1, max_size=6)),
             st.one_of(a_list(TEXT), ANY))})


def subnet_of(family: tuple[str, int]) -> st.SearchStrategy[dict]:
    cidr, version = family
    address = FAMILY_ADDRESS[version]
    route = st.fixed_dictionaries({
        'destination': ROUTE_DESTINATIONS[version], 'nexthop': address})
    pool = st.fixed_dictionaries({'start': address, 'end': address})
    return body({
        'gateway_ip': (st.one_of(st.none(), address), BAD_ADDRESS),
        'dns_nameservers': (a_list(address), st.one_of(a_list(BAD_ADDRESS),
                                                       ANY)),
        'host_routes': (a_list(route), st.one_of(a_list(st.fixed_dictionaries(
            {'destination': BAD_CIDR, 'nexthop': BAD_ADDRESS})), ANY)),
        'allocation_pools': (a_list(pool), st.one_of(a_list(
            st.fixed_dictionaries({'start': BAD_ADDRESS,
                                   'end': BAD_ADDRESS})), ANY)),
        'enable_dhcp': (st.booleans(), ANY),
        'ipv6_address_mode': (st.sampled_from(
            ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'] if version == 6
            else [None]), ANY),
        'cidr': (st.just(cidr), BAD_CIDR),
        'ip_version': (st.just(version), st.one_of(st.just(10 - version),
                                                   ANY)),
        'name': (PRINTABLE, ANY)}).map(
        lambda attrs: {'cidr': cidr, 'ip_version': version, **attrs})


SUBNET = st.sampled_from(CIDRS).flatmap(subnet_of)
FIXED_IP = st.fixed_dictionaries({}, optional={
    'ip_address': st.one_of(V4, V6),
    'subnet_id': st.sampled_from(['v4', 'v6'])})
BAD_FIXED_IP = st.fixed_dictionaries({'ip_address': BAD_ADDRESS}, optional={
    'subnet_id': st.one_of(st.sampled_from(['v4', 'v6']), ANY)})
DHCP_OPT = st.fixed_dictionaries({
    'opt_name': st.sampled_from(['dns-server', 'mtu', 'bootfile-name']),
    'opt_value': st.text('abc123.', min_size=1, max_size=8)})
BAD_DHCP_OPT = st.fixed_dictionaries({
    'opt_name': st.one_of(TEXT, ANY), 'opt_value': st.one_of(TEXT, ANY)})
PORT = body({
    'mac_address': (MACS, spoiled(MACS)),
    'fixed_ips': (a_list(FIXED_IP), st.one_of(a_list(BAD_FIXED_IP), ANY)),
    'extra_dhcp_opts': (a_list(DHCP_OPT), st.one_of(a_list(BAD_DHCP_OPT),
                                                    ANY)),
    'name': (PRINTABLE, ANY), 'device_owner': (PRINTABLE, ANY),
    'admin_state_up': (st.booleans(), ANY)})

# --------------------------------------------------------------------------
# What accepted resources must look like
# --------------------------------------------------------------------------

_MAC = re.compile(r'[0-9a-f]{2}(:[0-9a-f]{2}){5}')
_ADDRESS_CHARS = re.compile(r'[0-9a-f:.]+')


def canonical(address: str, version: int) -> None:
    assert _ADDRESS_CHARS.fullmatch(address), address
    parsed = ipaddress.ip_address(address)
    assert str(parsed) == address and parsed.version == version, address


def canonical_cidr(cidr: str, version: int) -> None:
    net = ipaddress.ip_network(cidr)
    assert str(net) == cidr and net.version == version, cidr
    canonical(str(net.network_address), version)


def one_field(text: str) -> None:
    """What dnsmasq reads as one value: printable, on one line."""
    assert text.isprintable() and text == text.strip(), repr(text)


def check_subnet(sub: dict[str, Any]) -> None:
    version = sub['ip_version']
    canonical_cidr(sub['cidr'], version)
    if sub['gateway_ip'] is not None:
        canonical(sub['gateway_ip'], version)
    for server in sub['dns_nameservers']:
        canonical(server, version)
    for route in sub['host_routes']:
        canonical_cidr(route['destination'], version)
        canonical(route['nexthop'], version)
    for pool in sub['allocation_pools']:
        canonical(pool['start'], version)
        canonical(pool['end'], version)
    if sub['enable_dhcp'] and sub['ipv6_address_mode'] not in (
            'slaac', 'dhcpv6-stateless'):
        assert sub['allocation_pools'], sub


def check_port(port: dict[str, Any]) -> None:
    assert _MAC.fullmatch(port['mac_address']), port['mac_address']
    for fixed in port['fixed_ips']:
        address = fixed['ip_address']
        canonical(address, 6 if ':' in address else 4)
    for opt in port['extra_dhcp_opts']:
        one_field(opt['opt_name'])
        assert ',' not in opt['opt_name'], opt
        one_field(opt['opt_value'])


def send(api, method: str, path: str, body: Any):
    """The body as Python's json writes it (NaN and Infinity included,
    which requests' json= refuses)."""
    return api.request(method, path, data=json.dumps(body).encode(),
                       headers={'Content-Type': 'application/json'})


def create(api, collection: str, resource: str,
           attrs: dict[str, Any]) -> dict[str, Any] | None:
    """POST; the created item as shown afterwards, or None if refused."""
    resp = send(api, 'POST', f'/v2.0/{collection}', {resource: attrs})
    event(f'{resource} {resp.status_code}')
    if resp.status_code != 201:
        api.error(resp, resp.status_code)   # a NeutronError 4xx
        return None
    created = resp.json()[resource]
    assert api.show(resource, created['id']) == created
    return created


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

@SETTINGS
@given(attrs=NETWORK)
def test_fuzzed_networks_never_fail_and_stay_well_formed(api, attrs):
    net = create(api, 'networks', 'network', attrs)
    if net is not None:
        # 0 asks for the maximum (Neutron's `net_mtu or max_mtu`).
        assert isinstance(net['mtu'], int) and 1 <= net['mtu'] <= 1500
        api.remove('network', net['id'])


@pytest.fixture(scope='module')
def networks(api) -> dict[int, dict]:
    """An empty network per MTU; each example removes what it made."""
    return {mtu: api.network(name=unique('fz'), mtu=mtu)
            for mtu in (1500, 1279)}


@SETTINGS
@given(attrs=SUBNET, mtu=st.sampled_from([1500, 1279]))
def test_fuzzed_subnets_never_fail_and_stay_canonical(api, networks, attrs,
                                                      mtu):
    net = networks[mtu]
    sub = create(api, 'subnets', 'subnet', dict(attrs, network_id=net['id']))
    if sub is None:
        return
    try:
        check_subnet(sub)
        assert sub['ip_version'] == 4 or mtu >= 1280
    finally:
        api.remove('subnet', sub['id'])


@pytest.fixture(scope='module')
def dual_stack(api) -> tuple[dict, dict[str, str]]:
    """A network with an IPv4 and an IPv6 subnet, for the ports."""
    net = api.network(name=unique('fz'))
    return net, {version: api.subnet(net['id'], cidr)['id']
                 for version, cidr in (('v4', '10.70.0.0/24'),
                                       ('v6', 'fd00:70::/64'))}


def with_subnets(attrs: dict[str, Any], subnets: dict[str, str]) -> dict:
    """The port body with the names 'v4'/'v6' of subnet_id made ids."""
    fixed = attrs.get('fixed_ips')
    if isinstance(fixed, list):
        attrs['fixed_ips'] = [
            dict(f, subnet_id=subnets[f['subnet_id']])
            if isinstance(f, dict) and f.get('subnet_id') in ('v4', 'v6')
            else f for f in fixed]
    return attrs


@SETTINGS
@given(attrs=PORT, update=PORT)
def test_fuzzed_ports_never_fail_and_stay_canonical(api, dual_stack, attrs,
                                                    update):
    net, subnets = dual_stack
    port = create(api, 'ports', 'port', dict(
        with_subnets(attrs, subnets), network_id=net['id']))
    if port is None:
        return
    try:
        check_port(port)
        resp = send(api, 'PUT', f"/v2.0/ports/{port['id']}",
                    {'port': with_subnets(update, subnets)})
        if resp.status_code == 200:
            check_port(resp.json()['port'])
        else:
            api.error(resp, resp.status_code)
            assert api.show('port', port['id']) == port
    finally:
        api.remove('port', port['id'])
