import ipaddress

import pytest

from kaon import exceptions as exc
from kaon.api import validators as v
from kaon.ipam import mac
from kaon.plugin import fixed_ips


@pytest.mark.parametrize('value, expected', [
    (True, True), ('true', True), ('True', True), ('FALSE', False),
    (0, False), (1, True)])
def test_booleans_as_neutron_accepts_them(value, expected):
    assert v.boolean(value) is expected


@pytest.mark.parametrize('value', ['yes', 2, None, 'maybe', 1.5])
def test_non_booleans(value):
    with pytest.raises(v.Invalid):
        v.boolean(value)


@pytest.mark.parametrize('value', [
    '01:00:5e:00:00:01', '00:00:00:00:00:00', 'fa:16:3e:00:00',
    'zz:16:3e:00:00:01', 'fa:16:3e:00:00:01:02', 42])
def test_bad_macs(value):
    with pytest.raises(v.Invalid):
        v.mac_address(value)


def test_macs_are_normalised():
    assert v.mac_address('FA-16-3E-AA-BB-CC') == 'fa:16:3e:aa:bb:cc'


def test_cidr_with_host_bits_recommends_the_network():
    with pytest.raises(v.Invalid, match="'10.0.0.0/24' is recommended"):
        v.cidr('10.0.0.1/24')
    assert v.cidr('2001:DB8::/64') == '2001:db8::/64'
    with pytest.raises(v.Invalid):
        v.cidr('10.0.0.0')


@pytest.mark.parametrize('value', ['a\nb', '', ' x', 'tab\there', 'x' * 300])
def test_one_line_refuses_what_could_break_dnsmasq_files(value):
    with pytest.raises(v.Invalid):
        v.one_line(255)(value)


def test_names_may_not_carry_commas():
    with pytest.raises(v.Invalid):
        v.one_line(64, commas=False)('dns-server,8.8.8.8')
    assert v.one_line(255)('8.8.8.8,8.8.4.4') == '8.8.8.8,8.8.4.4'


def test_integer_bounds_and_types():
    check = v.integer(68, lambda: 1500)
    assert check('1400') == 1400
    for bad in (67, 1501, 'abc', True, 1.5):
        with pytest.raises(v.Invalid):
            check(bad)


def test_dict_of_requires_and_rejects_keys():
    check = v.dict_of({'a': (v.string(), True), 'b': (v.boolean, False)},
                      defaults={'b': False})
    assert check({'a': 'x'}) == {'a': 'x', 'b': False}
    with pytest.raises(v.Invalid):
        check({'b': True})
    with pytest.raises(v.Invalid):
        check({'a': 'x', 'c': 1})


def test_unique_lists():
    with pytest.raises(v.Invalid):
        v.list_of(v.ip_address, unique=True)(['1.1.1.1', '1.1.1.1'])


def test_generated_macs_keep_the_base_oui():
    seen = {mac.random_mac('fa:16:3e:00:00:00') for _ in range(200)}
    assert all(m.startswith('fa:16:3e:') for m in seen)
    assert len(seen) > 190
    assert all(m.startswith('fa:16:3e:01:') for m in
               (mac.random_mac('fa:16:3e:01:00:00') for _ in range(20)))


# -- one strict parser for addresses (issue 9) --------------------------------

@pytest.mark.parametrize('value', [
    'fe80::1%eth0', 'fd00::1%\ndhcp-host=x', 'fd00::1%', ' 10.0.0.1',
    '10.0.0.1 ', '10.0.0.1\n', '10.0.0.1,10.0.0.2', '010.0.0.1',
    '10.0.0.\uff11', '\u0661.2.3.4', '10.0.0', 'fd00::1/128', 1, None,
    b'10.0.0.1', '1' * 100])
def test_addresses_python_tolerates_are_refused(value):
    with pytest.raises(v.Invalid):
        v.ip_address(value)


@pytest.mark.parametrize('value, expected', [
    ('fd00:88:0::0099', 'fd00:88::99'),
    ('FD00:88:0:0:0:0:0:99', 'fd00:88::99'),
    ('10.1.2.3', '10.1.2.3'),
    ('::FFFF:10.0.0.1', str(ipaddress.ip_address('::ffff:10.0.0.1')))])
def test_addresses_are_canonical(value, expected):
    assert v.ip_address(value) == expected


@pytest.mark.parametrize('value', [
    'fd00::%eth0/64', ' 10.0.0.0/24', '10.0.0.0/24\n', '10.0.0.0/024',
    '10.0.0.0/255.255.255.0', '10.0.0.0/0.0.0.255', 'fd00::/064',
    '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '/24', '10.0.0.0/+24'])
def test_cidrs_python_tolerates_are_refused(value):
    with pytest.raises(v.Invalid):
        v.cidr(value)


@pytest.mark.parametrize('value', [
    'fa:16-3e:00:00:01', 'fa:16:3e:00:00:01\n', ' fa:16:3e:00:00:01',
    'fa:16:3e:0:0:1', 'fa:16:3e:00:00:\uff101'])
def test_macs_with_junk_or_mixed_separators_are_refused(value):
    with pytest.raises(v.Invalid):
        v.mac_address(value)


@pytest.mark.parametrize('value', ['fa163eaabbcc', 'fa16.3eaa.bbcc',
                                   'fa-16-3e-aa-bb-cc', 'FA:16:3E:AA:BB:CC'])
def test_every_mac_spelling_is_one_mac(value):
    assert v.mac_address(value) == 'fa:16:3e:aa:bb:cc'
    assert mac.normalize(value) == 'fa:16:3e:aa:bb:cc'


@pytest.mark.parametrize('value', [
    float('inf'), float('-inf'), float('nan'), 1e400, 10 ** 23, 2 ** 31,
    ' 12', '12\n', '1_000', '\u0661\u0662', '1e3', [], None])
def test_integers_are_bounded_and_plain(value):
    with pytest.raises(v.Invalid):
        v.integer()(value)


def test_integer_bounds_default_to_the_database_integer():
    assert v.integer()(2 ** 31 - 1) == 2 ** 31 - 1
    assert v.integer()('-2147483648') == -2 ** 31
    assert v.integer(0)(1400.0) == 1400
    with pytest.raises(v.Invalid, match='too small'):
        v.integer()(-2 ** 31 - 1)


@pytest.mark.parametrize('value', [
    ' 6f1c6a9e-0c8e-4a59-9d4f-1d2b1f3e4a5b',
    '6f1c6a9e0c8e-4a59-9d4f-1d2b1f3e4a5b',
    '{6f1c6a9e-0c8e-4a59-9d4f-1d2b1f3e4a5b}', '\u0666' * 32, 'x' * 36])
def test_uuids_are_plain_hex(value):
    with pytest.raises(v.Invalid):
        v.uuid_like(value)


def test_uuids_are_canonical():
    assert v.uuid_like('6F1C6A9E0C8E4A599D4F1D2B1F3E4A5B') == \
        '6f1c6a9e-0c8e-4a59-9d4f-1d2b1f3e4a5b'


def test_fixed_ips_filters_are_canonical():
    assert fixed_ips.parse_filter('ip_address=fd00:0::0001') == \
        ('ip_address', 'fd00::1')
    for bad in ('ip_address=fd00::1%x', 'subnet_id=x', 'colour=red', ''):
        with pytest.raises(exc.InvalidInput):
            fixed_ips.parse_filter(bad)


def test_names_may_not_hold_nul():
    with pytest.raises(v.Invalid):
        v.string(255)('a\x00b')
    assert v.string(255)('tab\there') == 'tab\there'


def test_unique_lists_compare_converted_items():
    with pytest.raises(v.Invalid):
        v.list_of(v.ip_address, unique=True)(['fd00::1', 'fd00:0::0001'])
    opts = v.list_of(v.dict_of({'n': (v.string(), True), 'x': (v.string(),
                                                               True)}),
                     unique=True, key=lambda o: o['n'])
    with pytest.raises(v.Invalid):
        opts([{'n': 'a', 'x': '1'}, {'n': 'a', 'x': '2'}])
