"""What a well-formed line of each dnsmasq file kaon writes looks like.

Written from the formats (Neutron's, see kaon.agent.linux.dnsmasq_files),
not from kaon's code: a test asserts the files hold only such lines, one
entry per line, the expected number of fields, canonical addresses.
"""
from __future__ import annotations

import ipaddress
import os
import re

UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
MAC = r'[0-9a-f]{2}(?::[0-9a-f]{2}){5}'
NAME = r'host-[0-9a-f-]+'
FQDN = rf'{NAME}(?:\.[A-Za-z0-9-]+)*'
HOST = re.compile(rf'({MAC}),(?:({FQDN}),(\[[^\],]+\]|[^,\[\]]+)'
                  rf'(,set:port-{UUID})?|set:port-{UUID}|ignore)')
ADDN = re.compile(rf'([^\t ]+)\t({FQDN}) ({NAME})')
OPT = re.compile(rf'tag:(?:port|subnet)-{UUID},(option6?:[a-z0-9-]+|\d+)'
                 r'((?:,[^,]*)*)')
_ADDRESS_OPTIONS = ('option:router', 'option:dns-server', 'option6:dns-server',
                    'option:classless-static-route', '249')


def canonical_ip(text: str) -> str:
    assert str(ipaddress.ip_address(text)) == text, text
    return text


def _canonical_ip_or_cidr(text: str) -> None:
    text = text.strip('[]')
    parsed = (ipaddress.ip_network(text) if '/' in text
              else ipaddress.ip_address(text))
    assert str(parsed) == text, text


def check_line(kind: str, line: str) -> None:
    assert line.isprintable() or (kind == 'addn_hosts' and
                                  line.replace('\t', ' ').isprintable()), \
        repr(line)
    if kind == 'host':
        match = HOST.fullmatch(line)
        assert match, repr(line)
        if match.group(3):
            canonical_ip(match.group(3).strip('[]'))
            assert match.group(2) == 'host-' + match.group(3).strip(
                '[]').replace('.', '-').replace(':', '-') + \
                match.group(2)[len(match.group(2).split('.')[0]):]
    elif kind == 'addn_hosts':
        match = ADDN.fullmatch(line)
        assert match, repr(line)
        canonical_ip(match.group(1))
    else:
        match = OPT.fullmatch(line)
        assert match, repr(line)
        if match.group(1) in _ADDRESS_OPTIONS:
            for field in match.group(2).split(',')[1:]:
                _canonical_ip_or_cidr(field)


def check_content(kind: str, content: str) -> None:
    """Every line well formed, and every line ends with a newline."""
    assert content == '' or content.endswith('\n'), repr(content)
    for line in content.split('\n')[:-1]:
        check_line(kind, line)


def check_tree(conf_dir: str) -> int:
    """Check every file kaon wrote under a network's directory; returns
    how many lines were checked."""
    lines = 0
    for kind in ('host', 'addn_hosts', 'opts'):
        for name in os.listdir(os.path.join(conf_dir, kind)):
            with open(os.path.join(conf_dir, kind, name), 'rb') as f:
                content = f.read().decode()
            check_content(kind, content)
            lines += content.count('\n')
    return lines


def check_argv(argv: list[str]) -> None:
    for arg in argv:
        assert arg.isprintable(), repr(arg)
        if arg.startswith('--dhcp-range='):
            fields = arg.split('=', 1)[1].split(',')
            assert len(fields) == 5 and fields[2] == 'static', arg
            assert re.fullmatch(rf'set:subnet-{UUID}', fields[0]), arg
            canonical_ip(fields[1])
        if arg.startswith('--dhcp-option-force='):
            assert re.fullmatch(r'--dhcp-option-force=option:mtu,\d+', arg)
