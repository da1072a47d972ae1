"""What the CLI prints and parses, as pure logic: control characters
escaped in tables and only there; --config-file wherever it is typed."""
from __future__ import annotations

import argparse
import json

import pytest

from kaon.cli import main, output

COLUMNS = [('ID', 'id'), ('Name', 'name'), ('Fixed IP Addresses',
                                            'fixed_ips')]


@pytest.mark.parametrize('raw, shown', [
    ('\x1b[31mred', '\\x1b[31mred'),           # C0: ESC
    ('a\nb\rc\td', 'a\\nb\\rc\\td'),            # line breaks, tab
    ('\x9b2J', '\\x9b2J'),                     # C1: CSI
    ('\x7f', '\\x7f'),                         # DEL
    ('abc\u202edef', 'abc\\u202edef'),         # bidi override (Cf)
    ('a\u2028b', 'a\\u2028b'),                 # line separator (Zl)
    ('\ud800', '\\ud800'),                     # lone surrogate (Cs)
    ('\U000e0001', '\\U000e0001'),             # language tag (Cf)
    ('café ünï 网络 \U0001f600 a\\nb', 'café ünï 网络 \U0001f600 a\\nb'),
])
def test_visible_escapes_what_a_terminal_acts_on(raw: str, shown: str
                                                 ) -> None:
    assert output.visible(raw) == shown


def test_visible_walks_lists_and_dicts_keys_included() -> None:
    assert output.visible({'k\n': ['\x1b', 1, None, True]}) == \
        {'k\\n': ['\\x1b', 1, None, True]}


def items() -> list[dict]:
    return [{'id': 'n1', 'name': 'x\x1b[2J\n| fake |',
             'fixed_ips': [{'subnet_id': 's\n', 'ip_address': '10.0.0.2'},
                           {'subnet_id': 's2', 'ip_address': '10.0.0.3'}]}]


def args(fmt: str) -> argparse.Namespace:
    return argparse.Namespace(format=fmt, columns=[])


def test_table_rows_hold_escaped_values_and_real_line_breaks(capsys
                                                              ) -> None:
    output.print_list(args('table'), COLUMNS, items())
    table = capsys.readouterr().out
    assert '\x1b' not in table
    assert 'x\\x1b[2J\\n| fake |' in table
    # the two fixed IPs are still two lines of one cell, as openstack's
    assert "ip_address='10.0.0.2', subnet_id='s\\n'" in table
    assert "ip_address='10.0.0.3', subnet_id='s2'" in table


@pytest.mark.parametrize('fmt', ['json', 'value'])
def test_machine_formats_stay_exact(fmt: str, capsys) -> None:
    output.print_list(args(fmt), COLUMNS, items())
    out = capsys.readouterr().out
    if fmt == 'json':
        assert json.loads(out)[0]['Name'] == 'x\x1b[2J\n| fake |'
    else:
        assert 'x\x1b[2J\n| fake |' in out


@pytest.mark.parametrize('argv, files', [
    (['--config-file', 'a', 'server'], ['a']),
    (['server', '--config-file', 'b'], ['b']),
    (['--config-file', 'a', 'server', '--config-file', 'b',
      '--config-file', 'c'], ['a', 'b', 'c']),
    (['network', 'list', '--config-file', 'b'], ['b']),
    (['policy', 'sample'], []),
])
def test_config_file_before_and_after_the_subcommand(argv: list[str],
                                                     files: list[str]
                                                     ) -> None:
    assert main.parse_args(argv).config_file == files
