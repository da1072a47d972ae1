"""Per-project limits on networks, subnets and ports (Neutron's defaults).

Concurrency: enforce() counts and its caller then inserts, in one write
transaction.  Between the two, a lock named after the (project, resource)
is held until that transaction ends (kaon.db.locks), so concurrent creates
of one project take turns: the next one counts what the previous one
added, and a limit is never passed (Neutron gets the same from its quota
engine's reservations, made before it commits).  Projects with an
unlimited (-1) quota take no lock and count nothing.

DHCP ports: the port a DHCP agent creates for itself over RPC
(create_dhcp_port, device_owner network:dhcp) is infrastructure.  It is
counted in its project's usage -- Neutron's quota engine counts every port
of a project -- but never refused: Neutron checks quotas in its API layer,
which the agent's RPC does not pass through, and a network must not lose
DHCP because its project is at its port limit.  A project's port count
may thus exceed its limit by its DHCP ports, at most one per DHCP-enabled
network per agent (dhcp_agents_per_network), so bounded by the network
quota; the project's own creates are refused from then on.  The exemption
belongs to the caller (the RPC endpoint, through Plugin.create_dhcp_port),
never to a body: a port created through the API with device_owner
network:dhcp is checked like any other.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.db import locks, models

RESOURCES: dict[str, Table] = {'network': models.networks,
                               'subnet': models.subnets,
                               'port': models.ports,
                               'rbac_policy': models.rbac_policies,
                               'security_group': models.security_groups,
                               'security_group_rule':
                                   models.security_group_rules}

# Neutron's [quotas] quota_rbac_policy (neutron/conf/quota.py).
RBAC_OPTS = [cfg.IntOpt('quota_rbac_policy', default=10,
                        help='RBAC policies per project; -1 means '
                             'unlimited.')]
CONF.register_opts(RBAC_OPTS, group='quotas')

# Neutron's security group quota options (neutron/conf/quota.py): same
# group, names and defaults, so a neutron.conf carries over.
CONF.register_opts([
    cfg.IntOpt('quota_security_group', default=10,
               help='Security groups per project; -1 means unlimited.'),
    cfg.IntOpt('quota_security_group_rule', default=100,
               help='Security group rules per project; -1 means '
                    'unlimited.'),
], group='quotas')


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


def check_limit(conn: Connection, project_id: str, resource: str,
                adding: int) -> None:
    """409 OverQuota if `adding` alone is more than the limit, whatever is
    used (Neutron's quota_limit_check: the rules a new group starts with
    need a rule quota at least that large, but are not counted against
    what the project holds).  No lock: nothing is counted."""
    limit = limits(conn, project_id)[resource]
    if 0 <= limit < adding:
        raise exc.OverQuota(overs=[resource])


def enforce_bodies(conn: Connection, resource: str,
                   bodies: list[dict[str, Any]]) -> None:
    """enforce() for a (bulk) create: what each project adds at once."""
    adding: dict[str, int] = {}
    for body in bodies:
        adding[body['project_id']] = adding.get(body['project_id'], 0) + 1
    # Projects in one order everywhere, so two bulks cannot deadlock.
    for project in sorted(adding):
        enforce(conn, project, resource, adding[project])


def enforce(conn: Connection, project_id: str, resource: str,
            adding: int) -> None:
    """409 OverQuota if `adding` more would pass the project's limit.

    Holds the project's lock for `resource` until the transaction ends
    (see the module's docstring).  An unlimited (-1) quota costs no lock and
    no count, which keeps port creation O(1) for projects that opt out.
    """
    limit = limits(conn, project_id)[resource]
    if limit < 0:
        return
    locks.hold(conn, f'quota:{project_id}:{resource}')
    if usage(conn, project_id, resource) + adding > limit:
        raise exc.OverQuota(overs=[resource])


def usage(conn: Connection, project_id: str, resource: str) -> int:
    """How many `resource`s the project holds now."""
    table = RESOURCES[resource]
    return int(conn.execute(select(func.count()).select_from(table).where(
        table.c.project_id == project_id)).scalar_one())


def check_limits(conn: Connection, project_id: str,
                 changes: dict[str, int]) -> None:
    """Neutron's quota-check-limit-default: a limit below what the project
    already uses is a 400 unless the admin forces it (quotasv2.update);
    -1 (unlimited) needs no count."""
    for resource, limit in changes.items():
        if limit == -1:
            continue
        used = usage(conn, project_id, resource)
        if used > limit:
            raise exc.HTTPBadRequest(
                msg=f'Quota limit {limit} for {resource} must be greater '
                    f'than or equal to already used {used}')


def details(conn: Connection, project_id: str) -> dict[str, dict[str, int]]:
    """quota_details: limit, used and reserved per resource.  kaon counts
    and inserts in one transaction (enforce()), so it never holds
    reservations: `reserved` is always 0, as with Neutron's no-lock driver
    once a request has committed."""
    return {resource: {'limit': limit, 'reserved': 0,
                       'used': usage(conn, project_id, resource)}
            for resource, limit in limits(conn, project_id).items()}
