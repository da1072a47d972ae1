"""Per-project limits on networks, subnets and ports (Neutron's defaults)."""
from __future__ import annotations

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.db import models

RESOURCES: dict[str, Table] = {'network': models.networks,
                               'subnet': models.subnets,
                               'port': models.ports}


def defaults() -> dict[str, int]:
    return {name: getattr(CONF.quotas, f'quota_{name}') for name in RESOURCES}


def limits(conn: Connection, project_id: str) -> dict[str, int]:
    result = defaults()
    rows = conn.execute(select(models.quotas).where(
        models.quotas.c.project_id == project_id))
    result.update({r.resource: r.limit for r in rows})
    return result


def projects_with_quotas(conn: Connection) -> list[str]:
    return list(conn.execute(select(models.quotas.c.project_id).distinct())
                .scalars())


def set_limits(conn: Connection, project_id: str,
               changes: dict[str, int]) -> None:
    q = models.quotas
    for resource, limit in changes.items():
        conn.execute(delete(q).where(q.c.project_id == project_id,
                                     q.c.resource == resource))
        conn.execute(insert(q).values(project_id=project_id,
                                      resource=resource, limit=limit))


def reset(conn: Connection, project_id: str) -> None:
    conn.execute(delete(models.quotas).where(
        models.quotas.c.project_id == project_id))


def enforce_bodies(conn: Connection, resource: str,
                   bodies: list[dict]) -> None:
    """enforce() for a (bulk) create: what each project adds at once."""
    adding: dict[str, int] = {}
    for body in bodies:
        adding[body['project_id']] = adding.get(body['project_id'], 0) + 1
    for project, count in adding.items():
        enforce(conn, project, resource, count)


def enforce(conn: Connection, project_id: str, resource: str,
            adding: int) -> None:
    """409 OverQuota if `adding` more would pass the project's limit.

    An unlimited (-1) quota costs no count at all, which keeps port
    creation O(1) for projects that opt out of quotas.
    """
    limit = limits(conn, project_id)[resource]
    if limit < 0:
        return
    table = RESOURCES[resource]
    used = conn.execute(select(func.count()).select_from(table).where(
        table.c.project_id == project_id)).scalar_one()
    if used + adding > limit:
        raise exc.OverQuota(overs=[resource])
