"""The one gate every value passes on its way into a dnsmasq file or argv.

dnsmasq's host, opts and addn-hosts files are line- and comma-separated,
and its command line is parsed the same way (`--dhcp-range=a,b,c`): a
newline in a value adds a directive, a comma adds a field.  Python's
`ipaddress` accepts IPv6 scope ids (`fe80::1%anything`, newlines and commas
included), so "it parses as an address" is not enough.  The API validates
its input; this module is the second line of defence, so that no API path,
present or future, can reach dnsmasq with such a value: each checker
returns the value unchanged when it is canonical and well formed, and
raises `Refused` otherwise.  The driver then leaves out what carried it
(a port, an option, a subnet) and says so.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from kaon.ipam import addresses

_UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                   r'[0-9a-f]{12}')
_MAC = re.compile(r'[0-9a-f]{2}(:[0-9a-f]{2}){5}')
# dnsmasq option names (`bootfile-name`) or numbers (`66`).
_OPT_NAME = re.compile(r'[a-z0-9][a-z0-9-]{0,62}')
_LABEL = r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
_DOMAIN = re.compile(rf'{_LABEL}(\.{_LABEL})*\.?')
# Linux interface names: at most 15 bytes, no '/', no whitespace.
_IFNAME = re.compile(r'[A-Za-z0-9_.-]{1,15}')
_POSIX_NAME = re.compile(r'[a-z_][a-z0-9_-]{0,31}\$?')


class Refused(ValueError):
    """A value that must not reach dnsmasq; str() says which and why."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Refused(f'{what} {value!r}: not a string')
    return value


def _match(pattern: re.Pattern[str], value: Any, what: str) -> str:
    text = _text(value, what)
    if not pattern.fullmatch(text):
        raise Refused(f'{what} {value!r}: not well formed')
    return text


def uuid(value: Any, what: str = 'id') -> str:
    """Ids name files and tags: lower-case UUIDs only."""
    return _match(_UUID, value, what)


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.fullmatch(value))


def is_mac(value: Any) -> bool:
    return isinstance(value, str) and bool(_MAC.fullmatch(value))


def mac(value: Any) -> str:
    """Canonical (lower-case, colon-separated) MAC."""
    return _match(_MAC, value, 'MAC')


def opt_name(value: Any) -> str:
    return _match(_OPT_NAME, value, 'DHCP option name')


def domain(value: Any) -> str:
    return _match(_DOMAIN, value, 'domain')


def ifname(value: Any) -> str:
    return _match(_IFNAME, value, 'interface name')


def posix_name(value: Any) -> str:
    """A user or group name for --user / --group."""
    return _match(_POSIX_NAME, value, 'user or group name')


def ip(value: Any, version: int | None = None) -> str:
    """An IP address of `version` exactly as kaon stores one (the API's
    parser, kaon.ipam.addresses): no scope id, no other spelling."""
    return _canonical(addresses.parse_ip, value, 'IP address', version)


def cidr(value: Any, version: int | None = None) -> str:
    """A network as kaon stores one: `10.0.0.0/24`, never `10.0.0.1/24`."""
    return _canonical(addresses.parse_cidr, value, 'CIDR', version)


def _canonical(parse: Callable[[str], Any], value: Any, what: str,
               version: int | None) -> str:
    text = _text(value, what)
    try:
        parsed = parse(text)
    except addresses.BadAddress as err:
        raise Refused(f'{what} {value!r}: {err}') from None
    if str(parsed) != text:          # case, zero padding, ...
        raise Refused(f'{what} {value!r}: not canonical')
    if version is not None and parsed.version != version:
        raise Refused(f'{what} {value!r}: not IPv{version}')
    return text


def number(value: Any, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Refused(f'{what} {value!r}: not an integer in {low}..{high}')
    return value


def opt_value(value: Any) -> str:
    """An option's value: one printable line.  Commas are allowed (they
    separate list items, `8.8.8.8,8.8.4.4`), but never a line break or a
    control character."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, 'DHCP option value')
    if not text or len(text) > 255 or not text.isprintable() or \
            text != text.strip():
        raise Refused(f'DHCP option value {value!r}: not one printable '
                      'line of at most 255 characters')
    return text


def line(fields: Iterable[str], tail: str | None = None,
         sep: str = ',') -> str:
    """One line of a dnsmasq file, the last guard before the disk: every
    field printable and free of `sep`; `tail` (an option's value, already
    checked by opt_value) may hold commas.  Returns it with its newline."""
    parts = list(fields)
    for part in parts:
        if not isinstance(part, str) or not part.isprintable() or \
                sep in part or (sep != ' ' and part != part.strip()):
            raise Refused(f'field {part!r}: not allowed in a dnsmasq line')
    if tail is not None:
        parts.append(opt_value(tail))
    return sep.join(parts) + '\n'


def arg(name: str, *fields: str) -> str:
    """One `--name=a,b,c` argument, fields checked as a file line's are."""
    return f'--{name}=' + line(fields).rstrip('\n')
