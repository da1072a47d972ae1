"""Validators: each takes a request value and returns it converted.

A validator raises Invalid(reason) with neutron-lib's wording; the
controller turns that into "Invalid input for <attr>. Reason: <reason>."
They compose (`nullable(ip_address)`, `list_of(cidr)`), which is what keeps
each attribute of a resource to one line in its definition.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Callable

from kaon.ipam import addresses
from kaon.ipam.addresses import shown

Validator = Callable[[Any], Any]

# neutron-lib's DB_INTEGER_MAX_VALUE: the largest value of an integer column.
DB_INTEGER_MAX = 2 ** 31 - 1
_DECIMAL = re.compile(r'[+-]?[0-9]{1,20}')
_UUID = re.compile(r'[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1'
                   r'[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}')


class Invalid(ValueError):
    """The value can't be accepted; str() is the reason."""


def string(max_len: int = 255) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"'{shown(value)}' is not a valid string")
        if '\x00' in value:
            # PostgreSQL's text types cannot hold NUL at all.
            raise Invalid(f"'{shown(value)}' contains a NUL character")
        if len(value) > max_len:
            raise Invalid(f"'{shown(value)}' exceeds maximum length of "
                          f"{max_len}")
        return value
    return check


def one_line(max_len: int = 255,
             commas: bool = True) -> Callable[[Any], str]:
    """Printable text on one line: nothing that could add a line (or, for
    names, a field) to dnsmasq's option files (Neutron bug 1939733)."""
    base = string(max_len)

    def check(value: Any) -> str:
        text = base(value)
        if not text or not text.isprintable() or text != text.strip():
            raise Invalid(f"'{text}' must be one non-empty line of "
                          'printable characters')
        if not commas and ',' in text:
            raise Invalid(f"'{text}' must not contain a comma")
        return text
    return check


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false', '1',
                                                    '0'):
        return value.lower() in ('true', '1')
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    raise Invalid(f"'{shown(value)}' cannot be converted to boolean")


def integer(minimum: int | None = None,
            maximum: Callable[[], int] | int | None = None) -> Validator:
    """A whole number (JSON number or decimal string) within bounds.

    Every integer kaon stores is a 32-bit column, so without a `maximum`
    the bound is Neutron's DB_INTEGER_MAX_VALUE: 10**23 is a 400, never a
    database overflow (500).  Infinity and NaN are not integers.
    """
    def check(value: Any) -> int:
        number = _whole_number(value)
        top = maximum() if callable(maximum) else maximum
        top = DB_INTEGER_MAX if top is None else top
        bottom = -DB_INTEGER_MAX - 1 if minimum is None else minimum
        if number < bottom:
            raise Invalid(f"'{number}' is too small - must be at least "
                          f"'{bottom}'")
        if number > top:
            raise Invalid(f"'{shown(number)}' is too large - must be no "
                          f"larger than '{top}'")
        return number
    return check


def _whole_number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    raise Invalid(f"'{shown(value)}' is not an integer")


def enum(*choices: Any) -> Validator:
    def check(value: Any) -> Any:
        for choice in choices:
            if value == choice or (isinstance(choice, int)
                                   and str(value) == str(choice)):
                return choice
        raise Invalid(f"'{shown(value)}' is not in {list(choices)}")
    return check


def uuid_like(value: Any) -> str:
    """32 hex digits, bare or in the 8-4-4-4-12 form; canonical lower case
    (uuid.UUID alone would take whitespace and non-ASCII digits)."""
    if isinstance(value, str) and _UUID.fullmatch(value):
        return str(uuid.UUID(value))
    raise Invalid(f"'{shown(value)}' is not a valid UUID")


def ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address, canonical (kaon.ipam.addresses)."""
    return _address(addresses.canonical_ip, value)


def cidr(value: Any) -> str:
    """A network in CIDR form with no host bits set, canonical."""
    return _address(addresses.canonical_cidr, value)


def mac_address(value: Any) -> str:
    """Any form netaddr accepts (colons, dashes, bare, Cisco dots), stored
    as lower-case colon form; multicast and all-zero MACs are refused."""
    return _address(addresses.canonical_mac, value)


def _address(parse: Callable[[Any], str], value: Any) -> str:
    try:
        return parse(value)
    except addresses.BadAddress as err:
        raise Invalid(str(err)) from None


def nullable(inner: Validator) -> Validator:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)
    return check


def list_of(inner: Validator, unique: bool = False,
            key: Callable[[Any], Any] = repr) -> Validator:
    """A list of valid items; with `unique`, no two converted items share
    a `key` (converted: two spellings of one address are duplicates)."""
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid(f"'{shown(value)}' is not a list")
        items = [inner(item) for item in value]
        keys = [key(item) for item in items]
        if unique and len(set(keys)) != len(keys):
            raise Invalid(f"Duplicate items in the list: '{shown(value)}'")
        return items
    return check


def dict_of(fields: dict[str, tuple[Validator, bool]],
            defaults: dict[str, Any] | None = None
            ) -> Callable[[Any], dict[str, Any]]:
    """A dict with known keys; fields maps key -> (validator, required)."""
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"'{shown(value)}' is not a dictionary")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise Invalid('Unexpected keys supplied: '
                          f"{shown(', '.join(map(str, unknown)))}")
        result = dict(defaults or {})
        for key, (inner, required) in fields.items():
            if key in value:
                result[key] = inner(value[key])
            elif required:
                raise Invalid(f"Validation of dictionary's keys failed. "
                              f"Expected keys: {set(fields)} Provided keys: "
                              f"{set(value)}")
        return result
    return check


def any_of_keys(inner: Callable[[Any], dict[str, Any]],
                *keys: str) -> Validator:
    """A dict that must carry at least one of `keys` (fixed_ips entries)."""
    def check(value: Any) -> dict[str, Any]:
        result = inner(value)
        if not any(k in result for k in keys):
            raise Invalid(f"'{value}' must have one of {list(keys)}")
        return result
    return check
