"""The L2 agents of hosts, as the agents table knows them: whether a host
has a live one, its tunnel endpoint, when it last started.

An L2 agent is kaon's linuxbridge agent (agent_type 'Linux bridge
agent'); it reports its VXLAN endpoint as `tunneling_ip` in its
configurations (kaon.wire_l2.TUNNELING_IP), and start_flag on its first
report after a start, which sets started_at.
"""
from __future__ import annotations

import datetime
import json
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from kaon.constants import AGENT_TYPE_LINUXBRIDGE
from kaon.db.models import agents
from kaon.scheduler.liveness import alive_since
from kaon.wire_l2 import TUNNELING_IP


def has_l2_agent(conn: Connection, host: str) -> bool:
    """Whether an L2 agent alive on `host` will wire its ports."""
    return conn.execute(select(agents.c.id).where(
        agents.c.agent_type == AGENT_TYPE_LINUXBRIDGE,
        agents.c.host == host,
        agents.c.heartbeat_timestamp >= alive_since())).first() is not None


def tunneling_ips(conn: Connection, hosts: Iterable[str]) -> dict[str, str]:
    """host -> its L2 agent's tunneling_ip, for the hosts that report one
    (alive or not: a dead agent's entries stay, as in Neutron)."""
    wanted = sorted(set(hosts))
    if not wanted:
        return {}
    found = {}
    for host, configurations in conn.execute(select(
            agents.c.host, agents.c.configurations).where(
            agents.c.agent_type == AGENT_TYPE_LINUXBRIDGE,
            agents.c.host.in_(wanted))):
        ip = json.loads(configurations or '{}').get(TUNNELING_IP)
        if ip:
            found[host] = str(ip)
    return found


def started_at(conn: Connection, host: str) -> datetime.datetime | None:
    """When the L2 agent on `host` last reported a start."""
    return conn.execute(select(agents.c.started_at).where(
        agents.c.agent_type == AGENT_TYPE_LINUXBRIDGE,
        agents.c.host == host)).scalar()
