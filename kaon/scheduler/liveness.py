"""When an agent counts as alive: the one clock and rule that the agents
resource (report_state, `alive`) and the scheduler's placement both read,
and when DHCP failover gives up on a silent agent.

An agent is alive while its last heartbeat is at most `agent_down_time`
seconds old.  Failover takes a DHCP agent's networks away once it has been
silent for `dhcp_failover_after` seconds, by default as soon as it is no
longer alive (see failover_limit for why not Neutron's 2 x agent_down_time).
"""
from __future__ import annotations

import datetime

from oslo_config import cfg

from kaon.conf import CONF

CONF.register_opts([
    cfg.IntOpt('dhcp_failover_after', min=1,
               help='Seconds a DHCP agent may be silent before failover '
                    '(allow_automatic_dhcp_failover) moves its networks to '
                    'live agents. Unset: agent_down_time, i.e. as soon as '
                    'the agent is shown dead, so that a dead network '
                    "node's networks are served again within 2 x "
                    'agent_down_time. Neutron waits 2 x agent_down_time: '
                    'set that for its timing.'),
])


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


def failover_limit() -> int:
    """Seconds of silence after which a DHCP agent loses its networks.

    Neutron waits 2 x agent_down_time (agent_dead_limit_seconds), checked
    every agent_down_time / 2: a network node killed right after its last
    heartbeat has its networks moved up to 2.5 x agent_down_time later,
    before the new agent has even started serving them, so "served again
    within 2 x agent_down_time" cannot hold.  kaon moves them once the
    agent is dead by the rule everything else uses (agent_down_time): at
    most 1.5 x agent_down_time after the kill, leaving the new agent half
    a down time to serve them.  The doubled margin bought Neutron
    tolerance for agents whose heartbeats starve while a busy start-up
    sync holds their only green thread; kaon's agent reports from a thread
    of its own, so silence means dead.  A false failover costs little
    either way: the network keeps its DHCP port (reserved_dhcp_port) and
    so the server's address, and clients renew from the new agent.
    """
    limit: int | None = CONF.dhcp_failover_after
    return limit if limit is not None else CONF.agent_down_time


def dead_before() -> datetime.datetime:
    """Heartbeats before this instant make a DHCP agent lose its
    networks (failover_limit)."""
    return utc_now() - datetime.timedelta(seconds=failover_limit())
