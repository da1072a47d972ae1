"""What changed in the firewall's tables: a comparable picture of them.

The check re-applies the whole state and compares the tables before and
after; any difference is something that was changed behind the agent's
back (a rule deleted by hand, a set flushed) and has just been undone.
`nft -j list table` is the picture, reduced to what is meaningful: rule
handles are dropped (the rebuild renumbers them) and set elements sorted
(a hash set lists in the order of its random seed).
"""
from __future__ import annotations

import json
from typing import Any

Picture = dict[tuple[str, str, str], Any]


def picture(objects: list[dict[str, Any]]) -> Picture:
    """(kind, family, name) -> what it holds: a chain its hook and rules
    in order, a set or map its type and sorted elements."""
    shot: Picture = {}
    for obj in objects:
        kind, body = next(iter(obj.items()))
        if kind == 'chain':
            shot[('chain', body['family'], body['name'])] = {
                'hook': [body.get(k) for k in ('hook', 'prio', 'policy')],
                'rules': []}
        elif kind in ('set', 'map'):
            shot[(kind, body['family'], body['name'])] = {
                'type': body.get('type'), 'flags': body.get('flags'),
                'elem': sorted(json.dumps(e, sort_keys=True)
                               for e in body.get('elem', []))}
    for obj in objects:
        rule = obj.get('rule')
        if rule is not None:
            key = ('chain', rule['family'], rule['chain'])
            shot.setdefault(key, {'hook': None, 'rules': []})['rules'].append(
                json.dumps(rule['expr'], sort_keys=True))
    return shot


def differences(before: Picture, after: Picture) -> list[str]:
    """One line per object that `after` restored, removed or rewrote."""
    lines = []
    for key in sorted(set(before) | set(after)):
        kind, family, name = key
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            lines.append(f'{kind} {family} {name} was missing')
        elif new is None:
            lines.append(f'{kind} {family} {name} was not kaon\'s')
        elif kind == 'chain' and old['hook'] == new['hook']:
            lines.append(f'chain {family} {name}: {len(old["rules"])} '
                         f'rules, should be {len(new["rules"])} '
                         f'({_changed(old["rules"], new["rules"])})')
        else:
            lines.append(f'{kind} {family} {name} differed')
    return lines


def _changed(old: list[str], new: list[str]) -> str:
    missing = sum(1 for r in new if r not in old)
    extra = sum(1 for r in old if r not in new)
    return f'{missing} restored, {extra} removed'
