"""`If-Match: revision_number=N`: Neutron's revision-if-match extension.

The header is parsed as webob parses If-Match (Neutron reads
`request.if_match.etags`): `*` or nothing constrains nothing; the quoted
strong entity tags if there are any (weak `W/"..."` ones are ignored);
otherwise the whole value is one tag, unquoted, as clients send it.  Only
tags starting `revision_number=` are Neutron's; others are ignored.  The
check itself runs in the plugin's write transaction (kaon.plugin.revisions).
"""
from __future__ import annotations

import re

from kaon import exceptions as exc

_QUOTED = re.compile(r'(?:^|\s)(W/)?"((?:\\"|.)*?)"')
_PREFIX = 'revision_number='
# What Python's int() takes, less its non-ASCII digits and underscores.
_NUMBER = re.compile(r'\s*[+-]?[0-9]+\s*')


def _tags(header: str) -> list[str]:
    if header == '*' or not header:
        return []
    quoted = _QUOTED.findall(header)
    if not quoted:
        return [header]
    return [tag for weak, tag in quoted if not weak]


def _bad(msg: str) -> exc.BadRequest:
    return exc.BadRequest(resource='if-match', msg=msg)


def revision_constraint(header: str | None) -> int | None:
    """The revision the request is constrained to, if it names one;
    400 for a malformed or repeated revision_number tag (Neutron's
    check_request_for_revision_constraint, with its messages)."""
    revision = None
    for tag in _tags(header or ''):
        if not tag.startswith(_PREFIX):
            continue
        if revision is not None:
            raise _bad('Multiple revision_number etags are not supported')
        number = tag[len(_PREFIX):]
        if not _NUMBER.fullmatch(number):
            raise _bad('Revision number etag must be in the format of '
                       'revision_number=<int>')
        revision = int(number)
    return revision
