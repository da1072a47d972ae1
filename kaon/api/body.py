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
import re
from typing import Any

import falcon

from kaon import exceptions as exc

# No Neutron body nests deeper than a handful of levels (a port's
# fixed_ips: body -> port -> fixed_ips -> list -> object).
MAX_DEPTH = 32
# RFC 8259 8.1: JSON text exchanged between systems is UTF-8; the
# application/json type has no charset parameter, but +json types and
# careful clients send "charset=utf-8", which is accepted.
_JSON_TYPES = ('application/json',)
_SURROGATE_ESCAPE = re.compile(rb'\\u[dD][89a-fA-F]')


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
    _check_depth(value)
    # Strict UTF-8 decoding leaves a `\uD800`-`\uDFFF` escape as the one
    # way to a lone surrogate: only a body holding one has its strings
    # looked at.
    if _SURROGATE_ESCAPE.search(raw):
        _check_strings(value)
    if not isinstance(value, dict):
        raise _malformed('The body must be a JSON object')
    return value


def _check_content_type(content_type: str | None) -> None:
    """No Content-Type is taken as JSON (what curl -d sends is not)."""
    if not content_type:
        return
    media, params = falcon.parse_header(content_type)
    media = media.lower()
    json_type = media in _JSON_TYPES or media.endswith('+json')
    utf8 = params.get('charset', 'utf-8').lower() in ('utf-8', 'utf8')
    if not json_type or not utf8 or set(params) - {'charset'}:
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


def _children(item: Any) -> list[Any]:
    if isinstance(item, dict):
        return [*item, *item.values()]
    return item if isinstance(item, list) else []


def _check_depth(value: Any) -> None:
    """No value deeper than MAX_DEPTH (the body itself is 1), without
    recursion; only containers are walked."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = _children(item)
        if children and depth >= MAX_DEPTH:
            raise _malformed(f'JSON nested deeper than {MAX_DEPTH} levels')
        stack.extend((c, depth + 1) for c in children
                     if isinstance(c, (dict, list)))


def _check_strings(value: Any) -> None:
    """Every key and string of the body encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode('utf-8')
            except UnicodeEncodeError:
                raise _malformed('A string holds a lone UTF-16 surrogate, '
                                 'which is not a character') from None
        else:
            stack.extend(_children(item))


def _malformed(reason: str) -> exc.NeutronException:
    return exc.MalformedRequestBody(reason=reason)
