"""Agents: heartbeats (report_state) and the agents resource; when an
agent counts as alive is kaon.scheduler.liveness' rule."""
from __future__ import annotations

import datetime
import json
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Row

from kaon.conf import CONF
from kaon.context import Context
from kaon.db.models import agents, network_dhcp_agents
from kaon.plugin import common
from kaon.plugin.query import ListQuery, select_page, where_clauses
from kaon.scheduler.liveness import is_alive, utc_now


def _neutron_time(value: datetime.datetime | None) -> str | None:
    """Agents show times as Neutron does: 'YYYY-MM-DD HH:MM:SS'."""
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else None


def to_dict(row: Row[Any]) -> dict[str, Any]:
    agent = {k: v for k, v in row._mapping.items()
             if k not in ('resource_versions', 'load')}
    for key in ('created_at', 'started_at', 'heartbeat_timestamp'):
        agent[key] = _neutron_time(agent[key])
    agent['configurations'] = json.loads(row.configurations or '{}')
    agent['alive'] = is_alive(row.heartbeat_timestamp)
    agent['resources_synced'] = None
    return agent


def report_state(conn: Connection, state: dict[str, Any]) -> str:
    """Upsert the agent row; say whether it is 'new', 'alive' or 'revived'."""
    now = utc_now()
    configurations = state.get('configurations') or {}
    values = {
        'binary': state['binary'], 'topic': state['topic'],
        'availability_zone': state.get('availability_zone'),
        'configurations': json.dumps(configurations),
        'resource_versions': json.dumps(state.get('resource_versions')),
        'load': int(configurations.get('networks', 0) or 0),
        'heartbeat_timestamp': now,
    }
    if state.get('start_flag'):
        values['started_at'] = now
    row = conn.execute(select(agents).where(
        agents.c.agent_type == state['agent_type'],
        agents.c.host == state['host']).with_for_update()).first()
    if row is None:
        conn.execute(insert(agents).values(dict(
            values, id=common.new_id(), agent_type=state['agent_type'],
            host=state['host'], admin_state_up=CONF.enable_new_agents,
            created_at=now, started_at=now, description='')))
        return 'new'
    conn.execute(update(agents).where(agents.c.id == row.id).values(**values))
    return 'alive' if is_alive(row.heartbeat_timestamp, now) else 'revived'


def _by_agent_type(table: Any, values: list[Any]) -> Any:
    """`agent_type` matches case-insensitively: Neutron's reference runs
    on MySQL, whose default collation ignores case, and clients count on
    it (neutron-tempest-plugin lists agent_type=DHCP Agent to find
    'DHCP agent's).  Folded by the database on both sides, so SQLite and
    PostgreSQL agree on every value they fold alike (ASCII: agent types)."""
    return func.lower(table.c.agent_type).in_(
        [func.lower(literal(str(v))) for v in values])


SPECIAL_FILTERS = {'agent_type': _by_agent_type}


def list_agents(conn: Connection, ctx: Context,
                query: ListQuery) -> list[dict[str, Any]]:
    clauses = where_clauses(agents, query.filters, SPECIAL_FILTERS)
    return [to_dict(r) for r in select_page(conn, agents, query, clauses)]


def get_row(conn: Connection, agent_id: str) -> Row[Any]:
    return common.visible_row(conn, agents, 'agent', agent_id, [])


def get_agent(conn: Connection, ctx: Context,
              agent_id: str) -> dict[str, Any]:
    return to_dict(get_row(conn, agent_id))


def update_agent(conn: Connection, ctx: Context, agent_id: str,
                 body: dict[str, Any]) -> dict[str, Any]:
    before = to_dict(get_row(conn, agent_id))
    conn.execute(update(agents).where(agents.c.id == agent_id).values(
        **common.column_values(agents, body)))
    return before


def delete_agent(conn: Connection, ctx: Context,
                 agent_id: str) -> dict[str, Any]:
    agent = to_dict(get_row(conn, agent_id))
    conn.execute(delete(network_dhcp_agents).where(
        network_dhcp_agents.c.dhcp_agent_id == agent_id))
    conn.execute(delete(agents).where(agents.c.id == agent_id))
    return agent

