"""Pure rule logic: Neutron's canonical forms and duplicate keys."""
from __future__ import annotations

import pytest

from kaon import exceptions as exc
from kaon.plugin import sg_rule_checks as checks


def _rule(**body):
    return dict({'direction': 'ingress', 'ethertype': 'IPv4',
                 'protocol': None, 'port_range_min': None,
                 'port_range_max': None, 'remote_ip_prefix': None,
                 'remote_group_id': None, 'security_group_id': 'g'}, **body)


def test_a_name_and_its_number_are_one_protocol():
    assert checks.rule_key(_rule(protocol='tcp')) == \
        checks.rule_key(_rule(protocol='6'))
    assert checks.rule_key(_rule(protocol='tcp')) != \
        checks.rule_key(_rule(protocol='udp'))


def test_any_address_is_no_prefix():
    assert checks.rule_key(_rule(remote_ip_prefix='0.0.0.0/0')) == \
        checks.rule_key(_rule())
    assert checks.rule_key(_rule(ethertype='IPv6',
                                 remote_ip_prefix='::/0')) == \
        checks.rule_key(_rule(ethertype='IPv6'))


@pytest.mark.parametrize('given, stored', [
    ('icmp', 'ipv6-icmp'), ('icmpv6', 'ipv6-icmp'), ('1', '58'),
    ('ipv6-icmp', 'ipv6-icmp'), ('tcp', 'tcp')])
def test_ipv6_icmp_is_canonical(given, stored):
    rule = _rule(ethertype='IPv6', protocol=given)
    checks.canonical(rule)
    assert rule['protocol'] == stored


def test_whole_port_range_is_no_range():
    rule = _rule(protocol='tcp', port_range_min=1, port_range_max=65535)
    checks.canonical(rule)
    assert (rule['port_range_min'], rule['port_range_max']) == (None, None)


def test_normalized_cidr_drops_host_bits():
    assert checks.normalized_cidr('10.1.2.3/8') == '10.0.0.0/8'
    assert checks.normalized_cidr('2001:db8::5/64') == '2001:db8::/64'
    assert checks.normalized_cidr(None) is None


def test_icmp_code_without_type():
    with pytest.raises(exc.SecurityGroupMissingIcmpType):
        checks.validate(_rule(protocol='icmp', port_range_max=3))
    checks.validate(_rule(protocol='icmp', port_range_min=8))
