import pytest

from kaon.api import validators as v
from kaon.ipam import mac


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
