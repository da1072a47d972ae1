"""Network segments: the provider extension's attributes, validated as
ML2's type drivers validate them.

A network carries one segment: given by the admin as provider:network_type
/ physical_network / segmentation_id, or else a project network's `local`
segment (ML2's tenant_network_types, for kaon's one host).  The type
drivers kaon has are `local` (no physical network, no segmentation id) and
`flat` (a physical network from [ml2_type_flat] flat_networks, no
segmentation id, at most one flat network per physical network).
"""
from __future__ import annotations

from typing import Any, Callable

from oslo_config import cfg
from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.db.models import network_segments as segments
from kaon.plugin import common

NETWORK_TYPE = 'provider:network_type'
PHYSICAL_NETWORK = 'provider:physical_network'
SEGMENTATION_ID = 'provider:segmentation_id'
ATTRIBUTES = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
_COLUMNS = {NETWORK_TYPE: 'network_type', PHYSICAL_NETWORK:
            'physical_network', SEGMENTATION_ID: 'segmentation_id'}
TENANT_NETWORK_TYPE = 'local'

CONF.register_opts([
    cfg.ListOpt('flat_networks', default=['*'],
                help="Physical networks flat networks may be created on; "
                     "'*' allows any, an empty list none (Neutron's "
                     '[ml2_type_flat] flat_networks).'),
], group='ml2_type_flat')

Segment = dict[str, Any]


def _invalid(message: str) -> exc.InvalidInput:
    return exc.InvalidInput(error_message=message)


def _prohibited(segment: Segment, allowed: tuple[str, ...],
                network_type: str) -> None:
    for key in ATTRIBUTES:
        if segment.get(key) and key not in allowed:
            raise _invalid(f'{key} prohibited for {network_type} provider '
                           'network')


def _validate_local(conn: Connection, segment: Segment) -> None:
    _prohibited(segment, (NETWORK_TYPE,), 'local')


def _validate_flat(conn: Connection, segment: Segment) -> None:
    """FlatTypeDriver.validate_provider_segment and its reservation."""
    physnet = segment.get(PHYSICAL_NETWORK)
    if not physnet:
        raise _invalid('physical_network required for flat provider network')
    allowed = list(CONF.ml2_type_flat.flat_networks)
    if not allowed:
        raise _invalid('Flat provider networks are disabled')
    if '*' not in allowed and physnet not in allowed:
        raise _invalid(f"physical_network '{physnet}' unknown for flat "
                       'provider network')
    _prohibited(segment, (NETWORK_TYPE, PHYSICAL_NETWORK), 'flat')
    # The partial unique index is the guarantee under concurrency (the
    # loser's retry then stops here).
    if conn.execute(select(segments.c.id).where(
            segments.c.network_type == 'flat',
            segments.c.physical_network == physnet)).first() is not None:
        raise exc.FlatNetworkInUse(physical_network=physnet)


TYPE_DRIVERS: dict[str, Callable[[Connection, Segment], None]] = {
    'local': _validate_local,
    'flat': _validate_flat,
}


def _validated(conn: Connection, segment: Segment) -> Segment:
    network_type = segment.get(NETWORK_TYPE)
    if not network_type:
        raise _invalid('network_type required')
    check = TYPE_DRIVERS.get(network_type)
    if check is None:
        raise _invalid(f"network_type value '{network_type}' not supported")
    check(conn, segment)
    return segment


def create(conn: Connection, network_id: str, body: dict[str, Any]) -> None:
    """The new network's segment: the provider attributes given (ML2's
    _process_provider_create: any of them set means all are checked), or
    a project network's."""
    given = {k: body[k] for k in ATTRIBUTES if body.get(k) is not None}
    segment = _validated(conn, given) if given else \
        {NETWORK_TYPE: TENANT_NETWORK_TYPE}
    conn.execute(insert(segments).values(
        id=common.new_id(), network_id=network_id, is_dynamic=False,
        segment_index=0, **{_COLUMNS[k]: v for k, v in segment.items()}))


def check_update(conn: Connection, network_id: str,
                 body: dict[str, Any]) -> None:
    """Provider attributes in an update may only repeat what the network
    has (ML2: 'Plugin does not support updating ...'); none of kaon's
    types has a segmentation id to change."""
    current = attributes(conn, [network_id])[network_id]
    for key in ATTRIBUTES:
        if body.get(key) is None or body[key] == current[key]:
            continue
        if key == SEGMENTATION_ID:
            raise _invalid(f'{key} prohibited for {current[NETWORK_TYPE]} '
                           'provider network')
        raise _invalid('Plugin does not support updating the following '
                       'provider network attributes: '
                       f'{NETWORK_TYPE}, {PHYSICAL_NETWORK}')


def attributes(conn: Connection,
               network_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The provider attributes of each network (None where it has no
    segment), from its first segment."""
    found: dict[str, dict[str, Any]] = {
        i: dict.fromkeys(ATTRIBUTES) for i in network_ids}
    rows = common.rows_by(conn, segments, 'network_id', network_ids,
                          segments.c.segment_index)
    for net_id, net_rows in rows.items():
        if net_rows:
            first = net_rows[0]
            found[net_id] = {NETWORK_TYPE: first.network_type,
                             PHYSICAL_NETWORK: first.physical_network,
                             SEGMENTATION_ID: first.segmentation_id}
    return found


def _filter(attr: str) -> Callable[[Table, list[Any]], Any]:
    column = segments.c[_COLUMNS[attr]]

    def clause(table: Table, values: list[Any]) -> Any:
        return table.c.id.in_(select(segments.c.network_id).where(
            column.in_(values)))
    return clause


# The provider attributes as list filters on networks.
FILTERS = {attr: _filter(attr) for attr in ATTRIBUTES}
