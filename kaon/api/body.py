"""Request bodies as the API accepts them: a JSON object, strictly parsed.

Python's json module accepts what JSON (RFC 8259) does not, and what kaon
can't store or print: NaN and Infinity, numbers that overflow to inf
(1e400), lone UTF-16 surrogates ("\\ud800", which no UTF-8 encoder takes),
and nesting deep enough to exhaust the stack of whatever walks the value
next.  Each is refused here, once, so no later layer meets them.
"""
from __future__ import annotations

import json
import math
from typing import Any

from kaon import exceptions as exc

# No Neutron body nests deeper than a handful of levels (a port's
# fixed_ips: body -> port -> fixed_ips -> list -> object).
MAX_DEPTH = 32
# RFC 8259 8.1: JSON text exchanged between systems is UTF-8; the
# application/json type has no charset parameter, but +json types and
# careful clients send "charset=utf-8", which is accepted.
_JSON_TYPES = ('application/json',)


def parse_json(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body of a POST or PUT: a JSON object, else 400."""
    _check_content_type(content_type)
    if not raw:
        raise exc.HTTPBadRequest(msg='Resource body required')
    try:
        value = json.loads(raw.decode('utf-8'),
                           parse_constant=_refuse_constant,
                           parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _malformed('Cannot understand JSON') from None
    _check_value(value)
    if not isinstance(value, dict):
        raise _malformed('The body must be a JSON object')
    return value


def _check_content_type(content_type: str | None) -> None:
    """No Content-Type is taken as JSON (what curl -d sends is not)."""
    if not content_type:
        return
    media, _, params = content_type.partition(';')
    media = media.strip().lower()
    charset = params.strip().lower().removeprefix('charset=').strip('"')
    if media not in _JSON_TYPES and not media.endswith('+json') or \
            params.strip() and charset not in ('utf-8', 'utf8'):
        raise exc.HTTPBadRequest(
            msg=f'Unsupported Content-Type {content_type[:60]!r}: send '
                f'application/json')


def _refuse_constant(name: str) -> Any:
    raise ValueError(f'{name} is not a JSON number')


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f'{text[:20]} is out of range')
    return number


def _check_value(value: Any) -> None:
    """Depth and strings of a parsed body, without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _malformed(f'JSON nested deeper than {MAX_DEPTH} levels')
        if isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        raise _malformed('A string holds a lone UTF-16 surrogate, which is '
                         'not a character') from None


def _malformed(reason: str) -> exc.NeutronException:
    return exc.MalformedRequestBody(reason=reason)
