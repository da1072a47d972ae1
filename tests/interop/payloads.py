"""Neutron 29's captured RPC messages, and the key-by-key comparison with
kaon's (test_server_payloads, test_agent_payloads).

Each file in rpc_examples/ (copied from shared/rpc-examples: real Neutron
traffic, server and DHCP agent) is compared key by key, at every depth,
with the same message kaon produces: the server's answers and casts come
from a real plugin on SQLite behind the real RPC server over kaon://, as a
DHCP agent receives them; the agent's calls from kaon's agent-side client,
recorded by an endpoint that answers with Neutron's captured replies.

A key Neutron sends and kaon does not is what breaks Neutron's agent (its
DictModel raises AttributeError: `subnet.subnetpool_id` was the first); a
key kaon adds is a difference too.  Values are not compared (ids, times,
addresses differ by nature); list elements are compared by their keys.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any

EXAMPLES = pathlib.Path(__file__).parent / 'rpc_examples'
# Values whose keys depend on the deployment, not on the protocol: the
# mechanism driver's binding details and profile.
OPAQUE = {'binding:vif_details', 'binding:profile'}
# Differences kept on purpose (kaon.wire_shapes says why).
NOT_SENT = {'standard_attr_id'}


def message(name: str) -> dict[str, Any]:
    body = json.loads((EXAMPLES / name).read_text())['body']
    msg = body['oslo.message']
    return json.loads(msg) if isinstance(msg, str) else msg


def paths(value: Any, prefix: str = '') -> set[str]:
    """Every key path in `value`: 'ports[].fixed_ips[].subnet_id'."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f'{prefix}.{key}' if prefix else key
            found.add(path)
            if key not in OPAQUE:
                found |= paths(item, path)
    elif isinstance(value, list):
        for item in value:
            found |= paths(item, prefix + '[]')
    return found


def differences(neutron: Any, kaon: Any) -> dict[str, list[str]]:
    """Keys one side has and the other lacks, where both sides have the
    dict that holds them (an empty list on one side hides nothing)."""
    ours, theirs = paths(kaon), paths(neutron)

    def comparable(path: str, other: set[str]) -> bool:
        holder = _parent(path)
        return _key(path) not in NOT_SENT and (
            holder == '' or holder in {_parent(p) for p in other})
    return {
        'missing in kaon': sorted(p for p in theirs - ours
                                  if comparable(p, ours)),
        'only in kaon': sorted(p for p in ours - theirs
                               if comparable(p, theirs)),
    }


def _parent(path: str) -> str:
    return path.rsplit('.', 1)[0] if '.' in path else ''


def _key(path: str) -> str:
    return path.rsplit('.', 1)[-1]


def captured(name: str) -> Any:
    """What a captured reply answered, or the payload a cast carried."""
    msg = message(name)
    return msg['result'] if 'result' in msg else msg['args']['payload']


SAME = {'missing in kaon': [], 'only in kaon': []}
