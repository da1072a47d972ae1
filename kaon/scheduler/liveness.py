"""When an agent counts as alive: the one clock and rule that the agents
resource (report_state, `alive`) and the scheduler's placement both read.

An agent is alive while its last heartbeat is at most `agent_down_time`
seconds old; failover gives it twice that before it takes its networks
away (Neutron's remove_networks_from_down_agents).
"""
from __future__ import annotations

import datetime

from kaon.conf import CONF


def utc_now() -> datetime.datetime:
    """Heartbeats keep sub-second precision: liveness is a comparison."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def alive_since(now: datetime.datetime | None = None) -> datetime.datetime:
    """Heartbeats at or after this instant are an alive agent's."""
    return (now or utc_now()) - datetime.timedelta(
        seconds=CONF.agent_down_time)


def is_alive(heartbeat: datetime.datetime,
             now: datetime.datetime | None = None) -> bool:
    return heartbeat >= alive_since(now)


def dead_before() -> datetime.datetime:
    """Heartbeats before this instant make an agent lose its networks."""
    return utc_now() - datetime.timedelta(seconds=2 * CONF.agent_down_time)
