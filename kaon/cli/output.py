"""How the resource commands print: openstack's formats and column names.

`list` commands print one row per item under openstack's headers (`ID`,
`Name`, `Subnets`, ...); `show`, `create` and `set` print a Field/Value table
of the API's attribute names.  `-f json|yaml` print the API's values as they
are (for scripts), `-f value` the human form without decoration, and `-c`
keeps only the named columns (a header or an attribute name, any case).

Tables are for people's terminals, and names are anyone's input: a
control character in a value (an escape sequence, a newline, a bidi
override) is shown escaped there (`\x1b`, `\n`, `\u202e`), so that one
project cannot paint fake rows or colours into an admin's table.  The json,
yaml and value formats print values exactly, as scripts need them.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import unicodedata
from typing import Any, Callable, Sequence

from kaon.cli.client import CliError

FORMATS = ('table', 'json', 'yaml', 'value')
Columns = Sequence[tuple[str, str]]      # (header, attribute)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('output formatters')
    group.add_argument('-f', '--format', choices=FORMATS, default='table',
                       help='output format (default: table)')
    group.add_argument('-c', '--column', action='append', default=[],
                       dest='columns', metavar='COLUMN',
                       help='show only this column (repeatable)')


# -- human-readable values (table and value formats) -----------------------
def _pairs(value: dict[str, Any], rename: dict[str, str] | None = None
           ) -> str:
    """openstack's format_dict: key='value', sorted by key."""
    rename = rename or {}
    return ', '.join(f"{rename.get(k, k)}='{_human_scalar(v)}'"
                     for k, v in sorted(value.items()))


def _human_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return _pairs(value)
    if isinstance(value, list):
        return ', '.join(_human_scalar(v) for v in value)
    return str(value)


def _lines(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda items: '\n'.join(fmt(i) for i in items or [])


_HUMAN: dict[str, Callable[[Any], str]] = {
    'admin_state_up': lambda v: 'UP' if v else 'DOWN',
    'alive': lambda v: ':-)' if v else 'XXX',
    'router:external': lambda v: 'External' if v else 'Internal',
    'fixed_ips': _lines(_pairs),
    'extra_dhcp_opts': _lines(_pairs),
    'allocation_pools': _lines(lambda p: f"{p['start']}-{p['end']}"),
    'host_routes': _lines(lambda r: _pairs(r, {'nexthop': 'gateway'})),
}


def human(key: str, value: Any) -> str:
    """The value as openstack's table shows it."""
    fmt = _HUMAN.get(key)
    return fmt(value) if fmt else _human_scalar(value)


# -- control characters (table format) ----------------------------------
# Unicode categories a terminal acts on instead of showing: C0/C1 controls
# (Cc), format characters such as bidi overrides and zero-widths (Cf),
# line and paragraph separators (Zl, Zp), and lone surrogates (Cs), which
# cannot even be encoded.
_UNPRINTABLE = frozenset({'Cc', 'Cf', 'Zl', 'Zp', 'Cs'})
_SHORT = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _escape_char(char: str) -> str:
    if unicodedata.category(char) not in _UNPRINTABLE:
        return char
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f'\\x{code:02x}'
    return f'\\u{code:04x}' if code < 0x10000 else f'\\U{code:08x}'


def visible(value: Any) -> Any:
    """`value` with every string in it (dict keys too) escaped for a
    terminal; numbers, booleans and None unchanged."""
    if isinstance(value, str):
        return ''.join(_escape_char(c) for c in value)
    if isinstance(value, dict):
        return {visible(k): visible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [visible(v) for v in value]
    return value


# -- selection -------------------------------------------------------------
def _select(columns: Columns, wanted: list[str]) -> Columns:
    """The columns named by -c, in their usual order (as cliff keeps it)."""
    if not wanted:
        return columns
    names = {name.lower() for name in wanted}
    known = {n for c in columns for n in (c[0].lower(), c[1].lower())}
    unknown = [w for w in wanted if w.lower() not in known]
    if unknown:
        raise CliError(f"no column '{unknown[0]}'; the columns are: "
                       + ', '.join(c[0] for c in columns))
    return [c for c in columns
            if c[0].lower() in names or c[1].lower() in names]


# -- printing --------------------------------------------------------------
def _table(headers: list[str], rows: list[list[str]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    table = Table(box=box.ASCII2, header_style=None, highlight=False)
    for header in headers:
        table.add_column(header, overflow='fold')
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() \
        else 100_000
    Console(width=width, highlight=False, soft_wrap=False).print(table)


def _machine(data: Any, fmt: str) -> None:
    if fmt == 'json':
        print(json.dumps(data, indent=2))
    else:
        import yaml
        print(yaml.safe_dump(data, default_flow_style=False,
                             sort_keys=False).rstrip('\n'))


def print_list(args: argparse.Namespace, columns: Columns,
               items: list[dict[str, Any]]) -> None:
    """A list command's result: one row per item."""
    columns = _select(columns, args.columns)
    if args.format in ('json', 'yaml'):
        _machine([{h: i.get(k) for h, k in columns} for i in items],
                 args.format)
        return
    if args.format == 'value':
        for item in items:
            print(' '.join(human(k, item.get(k)) for _, k in columns))
    elif items:
        _table([h for h, _ in columns],
               [[human(k, visible(i.get(k))) for _, k in columns]
                for i in items])


def print_item(args: argparse.Namespace, item: dict[str, Any]) -> None:
    """A show/create/set command's result: Field/Value, sorted by field."""
    columns = _select([(k, k) for k in sorted(item)], args.columns)
    if args.format in ('json', 'yaml'):
        _machine({k: item[k] for _, k in columns}, args.format)
    elif args.format == 'value':
        for _, key in columns:
            print(human(key, item[key]))
    else:
        _table(['Field', 'Value'],
               [[visible(k), human(k, visible(item[k]))] for _, k in columns])
