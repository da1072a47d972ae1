"""Network segments: the provider extension's attributes, validated and
reserved as ML2's type drivers do.

A network carries one segment: given by the admin as provider:network_type
/ physical_network / segmentation_id, or else a project network's, of the
first of [ml2] tenant_network_types with a segment free (ML2's
_allocate_tenant_net_segment).  The type drivers:
- `local`: no physical network, no segmentation id (one host);
- `flat`: a physical network from [ml2_type_flat] flat_networks, at most
  one flat network on each;
- `vlan`: a physical network of [ml2_type_vlan] network_vlan_ranges and a
  VLAN id, given or allocated from its ranges;
- `vxlan`: a VNI, given or allocated from [ml2_type_vxlan] vni_ranges.
VLAN ids and VNIs are taken and given back through kaon.plugin.
segment_alloc.
"""
from __future__ import annotations

from typing import Any, Callable

from oslo_config import cfg
from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from kaon import exceptions as exc
from kaon.conf import CONF
from kaon.db.models import network_segments as segments
from kaon.plugin import common, segment_alloc, type_drivers
from kaon.plugin.type_drivers import FLAT, LOCAL, VLAN, VXLAN

NETWORK_TYPE = 'provider:network_type'
PHYSICAL_NETWORK = 'provider:physical_network'
SEGMENTATION_ID = 'provider:segmentation_id'
ATTRIBUTES = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
_COLUMNS = {NETWORK_TYPE: 'network_type', PHYSICAL_NETWORK:
            'physical_network', SEGMENTATION_ID: 'segmentation_id'}

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


def _reserve_local(conn: Connection, segment: Segment) -> Segment:
    _prohibited(segment, (NETWORK_TYPE,), LOCAL)
    return segment


def _reserve_flat(conn: Connection, segment: Segment) -> Segment:
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
    _prohibited(segment, (NETWORK_TYPE, PHYSICAL_NETWORK), FLAT)
    # The partial unique index is the guarantee under concurrency (the
    # loser's retry then stops here).
    if conn.execute(select(segments.c.id).where(
            segments.c.network_type == FLAT,
            segments.c.physical_network == physnet)).first() is not None:
        raise exc.FlatNetworkInUse(physical_network=physnet)
    return segment


def _out_of_range(low: int, high: int) -> exc.InvalidInput:
    return _invalid(f'segmentation_id out of range ({low} through {high})')


def _reserve_vxlan(conn: Connection, segment: Segment) -> Segment:
    """The tunnel type driver's validate_provider_segment and
    reserve_provider_segment.  Neutron leaves a VNI beyond 24 bits to
    fail in the agents; kaon refuses it as the VLAN driver refuses a tag
    beyond 12."""
    if segment.get(PHYSICAL_NETWORK):
        raise _invalid(f'{PHYSICAL_NETWORK} specified for vxlan network')
    vni = segment.get(SEGMENTATION_ID)
    if vni is None:
        return _take_free(conn, VXLAN) or _unavailable()
    if not type_drivers.MIN_VNI <= vni <= type_drivers.MAX_VNI:
        raise _out_of_range(type_drivers.MIN_VNI, type_drivers.MAX_VNI)
    if not segment_alloc.take(conn, segment_alloc.VXLAN, (vni,)):
        raise exc.TunnelIdInUse(tunnel_id=vni)
    return segment


def _reserve_vlan(conn: Connection, segment: Segment) -> Segment:
    """VlanTypeDriver.validate_provider_segment and
    reserve_provider_segment: a physical network of network_vlan_ranges; a
    VLAN id given, or the first free one there (or anywhere, without a
    physical network)."""
    physnet = segment.get(PHYSICAL_NETWORK)
    vlan_id = segment.get(SEGMENTATION_ID)
    if physnet:
        if physnet not in type_drivers.ranges().vlan:
            raise _invalid(f"physical_network '{physnet}' unknown for VLAN "
                           'provider network')
        if vlan_id is not None and not \
                type_drivers.MIN_VLAN <= vlan_id <= type_drivers.MAX_VLAN:
            raise _out_of_range(type_drivers.MIN_VLAN, type_drivers.MAX_VLAN)
    elif vlan_id is not None:
        raise _invalid('segmentation_id requires physical_network for VLAN '
                       'provider network')
    if vlan_id is None:
        return _take_free(conn, VLAN, physnet) or _unavailable()
    if not segment_alloc.take(conn, segment_alloc.VLAN, (physnet, vlan_id)):
        raise exc.VlanIdInUse(vlan_id=vlan_id, physical_network=physnet)
    return segment


def _take_free(conn: Connection, network_type: str,
               physnet: str | None = None) -> Segment | None:
    """A segment of the type with an id from its ranges (ML2's
    allocate_tenant_segment); None when all are taken (a flat or local
    segment has no id to allocate: local is always free, flat never)."""
    if network_type == LOCAL:
        return {NETWORK_TYPE: LOCAL}
    if network_type == VXLAN:
        key = segment_alloc.take_free(conn, segment_alloc.VXLAN)
        return None if key is None else {NETWORK_TYPE: VXLAN,
                                         SEGMENTATION_ID: key[0]}
    if network_type == VLAN:
        key = segment_alloc.take_free(conn, segment_alloc.vlan_pool(physnet))
        return None if key is None else {NETWORK_TYPE: VLAN,
                                         PHYSICAL_NETWORK: key[0],
                                         SEGMENTATION_ID: key[1]}
    return None


def _unavailable() -> Segment:
    raise exc.NoNetworkAvailable()


TYPE_DRIVERS: dict[str, Callable[[Connection, Segment], Segment]] = {
    LOCAL: _reserve_local,
    FLAT: _reserve_flat,
    VLAN: _reserve_vlan,
    VXLAN: _reserve_vxlan,
}


def _reserved(conn: Connection, segment: Segment) -> Segment:
    network_type = segment.get(NETWORK_TYPE)
    if not network_type:
        raise _invalid('network_type required')
    reserve = TYPE_DRIVERS.get(network_type)
    if reserve is None:
        raise _invalid(f"network_type value '{network_type}' not supported")
    return reserve(conn, segment)


def reserve(conn: Connection, body: dict[str, Any]) -> Segment:
    """The new network's segment, its id taken: the provider attributes
    given (ML2's _process_provider_create: any of them set means all are
    checked), or a project network's (the first tenant network type with
    one free; 503 NoNetworkAvailable when none has)."""
    given = {k: body[k] for k in ATTRIBUTES if body.get(k) is not None}
    if given:
        return _reserved(conn, given)
    for network_type in type_drivers.tenant_network_types():
        segment = _take_free(conn, network_type)
        if segment is not None:
            return segment
    return _unavailable()


def add(conn: Connection, network_id: str, segment: Segment) -> None:
    """The reserved segment's row, the network's first."""
    conn.execute(insert(segments).values(
        id=common.new_id(), network_id=network_id, is_dynamic=False,
        segment_index=0, **{_COLUMNS[k]: v for k, v in segment.items()}))


def max_mtu(segment: Segment) -> int:
    return type_drivers.max_mtu(segment[NETWORK_TYPE],
                                segment.get(PHYSICAL_NETWORK))


def release(conn: Connection, network_id: str) -> None:
    """Give the network's VNIs and VLAN ids back (ML2's release_segment:
    free again inside today's ranges, forgotten outside them)."""
    ranges = type_drivers.ranges()
    for row in conn.execute(select(segments).where(
            segments.c.network_id == network_id)):
        if row.network_type == VXLAN:
            segment_alloc.release(conn, segment_alloc.VXLAN,
                                  (row.segmentation_id,),
                                  ranges.has_vni(row.segmentation_id))
        elif row.network_type == VLAN:
            segment_alloc.release(
                conn, segment_alloc.VLAN,
                (row.physical_network, row.segmentation_id),
                ranges.has_vlan(row.physical_network, row.segmentation_id))


def sync_allocations(conn: Connection, ranges: type_drivers.Ranges) -> None:
    """The allocation tables made to match the ranges (server start)."""
    segment_alloc.sync(conn, segment_alloc.VXLAN,
                       {(vni,) for vni in ranges.vnis()})
    segment_alloc.sync(conn, segment_alloc.VLAN, set(ranges.vlans()))


def check_update(conn: Connection, network_id: str,
                 body: dict[str, Any]) -> None:
    """Provider attributes in an update may only repeat what the network
    has (ML2: 'Plugin does not support updating ...'; kaon has no
    segmentation id updates)."""
    current = attributes(conn, [network_id])[network_id]
    changed = [key for key in ATTRIBUTES
               if body.get(key) is not None and body[key] != current[key]]
    if not changed:
        return
    if changed == [SEGMENTATION_ID] and current[NETWORK_TYPE] in (LOCAL,
                                                                  FLAT):
        raise _invalid(f'{SEGMENTATION_ID} prohibited for '
                       f'{current[NETWORK_TYPE]} provider network')
    named = changed if changed == [SEGMENTATION_ID] else \
        [NETWORK_TYPE, PHYSICAL_NETWORK]
    raise _invalid('Plugin does not support updating the following '
                   f'provider network attributes: {", ".join(named)}')


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
