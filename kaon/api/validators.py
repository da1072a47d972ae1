"""Validators: each takes a request value and returns it converted.

A validator raises Invalid(reason) with neutron-lib's wording; the
controller turns that into "Invalid input for <attr>. Reason: <reason>."
They compose (`nullable(ip_address)`, `list_of(cidr)`), which is what keeps
each attribute of a resource to one line in its definition.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any, Callable

Validator = Callable[[Any], Any]


class Invalid(ValueError):
    """The value can't be accepted; str() is the reason."""


def string(max_len: int = 255) -> Validator:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"'{value}' is not a valid string")
        if len(value) > max_len:
            shown = value if len(value) <= 64 else value[:64] + '...'
            raise Invalid(f"'{shown}' exceeds maximum length of {max_len}")
        return value
    return check


def one_line(max_len: int = 255, commas: bool = True) -> Validator:
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
    raise Invalid(f"'{value}' cannot be converted to boolean")


def integer(minimum: int | None = None,
            maximum: Callable[[], int] | int | None = None) -> Validator:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(f"'{value}' is not an integer") from None
        if isinstance(value, float) and value != number:
            raise Invalid(f"'{value}' is not an integer")
        top = maximum() if callable(maximum) else maximum
        if minimum is not None and number < minimum:
            raise Invalid(f"'{number}' is too small - must be at least "
                          f"'{minimum}'")
        if top is not None and number > top:
            raise Invalid(f"'{number}' is too large - must be no larger "
                          f"than '{top}'")
        return number
    return check


def enum(*choices: Any) -> Validator:
    def check(value: Any) -> Any:
        for choice in choices:
            if value == choice or (isinstance(choice, int)
                                   and str(value) == str(choice)):
                return choice
        raise Invalid(f"'{value}' is not in {list(choices)}")
    return check


def uuid_like(value: Any) -> str:
    try:
        if isinstance(value, str) and len(value) in (32, 36):
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise Invalid(f"'{value}' is not a valid UUID")


def ip_address(value: Any) -> str:
    try:
        if not isinstance(value, str) or '/' in value:
            raise ValueError
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP address") from None


def cidr(value: Any) -> str:
    """A network in CIDR form with no host bits set."""
    if not isinstance(value, str) or '/' not in value:
        raise Invalid(f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP subnet") from None
    if str(net) != value and ipaddress.ip_interface(value).ip != \
            net.network_address:
        raise Invalid(f"'{value}' isn't a recognized IP subnet cidr, "
                      f"'{net}' is recommended")
    return str(net)


def mac_address(value: Any) -> str:
    """Any form netaddr accepts (colons, dashes, bare, Cisco dots), stored
    as lower-case colon form; multicast and all-zero MACs are refused."""
    digits = re.sub(r'[:\-.]', '', value) if isinstance(value, str) else ''
    well_formed = isinstance(value, str) and (
        re.fullmatch(r'([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}', value)
        or re.fullmatch(r'[0-9A-Fa-f]{12}', value)
        or re.fullmatch(r'([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}', value))
    if not well_formed:
        raise Invalid(f"'{value}' is not a valid MAC address")
    octets = [int(digits[i:i + 2], 16) for i in range(0, 12, 2)]
    if octets[0] & 1:
        raise Invalid(f"'{value}' is a multicast MAC address")
    if not any(octets):
        raise Invalid(f"'{value}' is the all-zero MAC address")
    return ':'.join(f'{o:02x}' for o in octets)


def nullable(inner: Validator) -> Validator:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)
    return check


def list_of(inner: Validator, unique: bool = False) -> Validator:
    def check(value: Any) -> list:
        if not isinstance(value, list):
            raise Invalid(f"'{value}' is not a list")
        items = [inner(item) for item in value]
        keys = [repr(item) for item in items]
        if unique and len(set(keys)) != len(keys):
            raise Invalid(f"Duplicate items in the list: '{value}'")
        return items
    return check


def dict_of(fields: dict[str, tuple[Validator, bool]],
            defaults: dict[str, Any] | None = None) -> Validator:
    """A dict with known keys; fields maps key -> (validator, required)."""
    def check(value: Any) -> dict:
        if not isinstance(value, dict):
            raise Invalid(f"'{value}' is not a dictionary")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise Invalid(f"Unexpected keys supplied: {', '.join(unknown)}")
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


def any_of_keys(inner: Validator, *keys: str) -> Validator:
    """A dict that must carry at least one of `keys` (fixed_ips entries)."""
    def check(value: Any) -> dict:
        result = inner(value)
        if not any(k in result for k in keys):
            raise Invalid(f"'{value}' must have one of {list(keys)}")
        return result
    return check
