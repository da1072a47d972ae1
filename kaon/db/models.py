"""The schema, as SQLAlchemy Core tables.

Core rather than ORM: kaon's hot paths (port create, port list) are a handful
of statements each, and building 10,000 ORM objects to list 10,000 ports is
exactly the overhead we don't want.  Uniqueness that matters for correctness
lives here as constraints, so a duplicate IP or MAC is impossible, not
merely unlikely.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(naming_convention={
    'ix': 'ix_%(table_name)s_%(column_0_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s',
    'pk': 'pk_%(table_name)s',
})

UUID = String(36)
NAME = String(255)
IP = String(64)
# An IP as 32 zero-padded hex digits: sorts like the address for v4 and v6.
IP_KEY = String(32)


def _standard_attrs() -> list[Column[Any]]:
    """Neutron's standard attributes: every resource has these."""
    return [
        Column('description', String(255), nullable=False, default=''),
        Column('created_at', DateTime, nullable=False),
        Column('updated_at', DateTime, nullable=False),
        Column('revision_number', Integer, nullable=False, default=0),
    ]


networks = Table(
    'networks', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('name', NAME, nullable=False, default=''),
    Column('status', String(16), nullable=False),
    Column('admin_state_up', Boolean, nullable=False, default=True),
    Column('shared', Boolean, nullable=False, default=False),
    Column('external', Boolean, nullable=False, default=False),
    Column('mtu', Integer, nullable=False),
    *_standard_attrs(),
)

subnets = Table(
    'subnets', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('network_id', UUID, ForeignKey('networks.id', ondelete='CASCADE'),
           nullable=False, index=True),
    Column('name', NAME, nullable=False, default=''),
    Column('ip_version', Integer, nullable=False),
    Column('cidr', String(64), nullable=False),
    Column('gateway_ip', IP),
    Column('enable_dhcp', Boolean, nullable=False),
    Column('ipv6_ra_mode', String(16)),
    Column('ipv6_address_mode', String(16)),
    *_standard_attrs(),
)

allocation_pools = Table(
    'ipallocationpools', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('subnet_id', UUID, ForeignKey('subnets.id', ondelete='CASCADE'),
           nullable=False, index=True),
    Column('first_ip', IP, nullable=False),
    Column('last_ip', IP, nullable=False),
)

# The free addresses of each subnet's pools, as ranges.  Allocation takes the
# first address of the lowest range: O(log n) whatever the subnet's size or
# fill, instead of enumerating candidates.
availability_ranges = Table(
    'ipavailabilityranges', metadata,
    Column('subnet_id', UUID, ForeignKey('subnets.id', ondelete='CASCADE'),
           primary_key=True),
    Column('first_key', IP_KEY, primary_key=True),
    Column('last_key', IP_KEY, nullable=False),
    Index('ix_ipavailabilityranges_subnet_last', 'subnet_id', 'last_key'),
)

dns_nameservers = Table(
    'dnsnameservers', metadata,
    Column('subnet_id', UUID, ForeignKey('subnets.id', ondelete='CASCADE'),
           primary_key=True),
    Column('address', IP, primary_key=True),
    Column('order', Integer, nullable=False),
)

host_routes = Table(
    'subnetroutes', metadata,
    Column('subnet_id', UUID, ForeignKey('subnets.id', ondelete='CASCADE'),
           primary_key=True),
    Column('destination', String(64), primary_key=True),
    Column('nexthop', IP, primary_key=True),
)

ports = Table(
    'ports', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('network_id', UUID, ForeignKey('networks.id'), nullable=False),
    Column('name', NAME, nullable=False, default=''),
    Column('mac_address', String(32), nullable=False),
    Column('admin_state_up', Boolean, nullable=False, default=True),
    Column('status', String(16), nullable=False),
    Column('device_id', NAME, nullable=False, default='', index=True),
    Column('device_owner', NAME, nullable=False, default=''),
    Column('host', NAME, nullable=False, default=''),
    Column('vnic_type', String(64), nullable=False, default='normal'),
    *_standard_attrs(),
    UniqueConstraint('network_id', 'mac_address',
                     name='uq_ports_network_id_mac_address'),
)

ip_allocations = Table(
    'ipallocations', metadata,
    Column('subnet_id', UUID, ForeignKey('subnets.id'), primary_key=True),
    Column('ip_address', IP, primary_key=True),
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           nullable=False, index=True),
    Column('network_id', UUID, nullable=False, index=True),
    Column('ip_key', IP_KEY, nullable=False),
)

extra_dhcp_opts = Table(
    'extradhcpopts', metadata,
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           primary_key=True),
    Column('opt_name', String(64), primary_key=True),
    Column('ip_version', Integer, primary_key=True),
    Column('opt_value', String(255), nullable=False),
)

tags = Table(
    'tags', metadata,
    Column('resource_id', UUID, primary_key=True),
    Column('tag', String(255), primary_key=True),
)

quotas = Table(
    'quotas', metadata,
    Column('project_id', NAME, primary_key=True),
    Column('resource', String(64), primary_key=True),
    Column('limit', Integer, nullable=False),
)

# Agents report themselves with report_state; (agent_type, host) is the key.
agents = Table(
    'agents', metadata,
    Column('id', UUID, primary_key=True),
    Column('agent_type', String(255), nullable=False),
    Column('binary', String(255), nullable=False),
    Column('topic', String(255), nullable=False),
    Column('host', String(255), nullable=False),
    Column('availability_zone', String(255)),
    Column('admin_state_up', Boolean, nullable=False, default=True),
    Column('created_at', DateTime, nullable=False),
    Column('started_at', DateTime, nullable=False),
    Column('heartbeat_timestamp', DateTime, nullable=False),
    Column('description', String(255), nullable=False, default=''),
    Column('configurations', Text, nullable=False, default='{}'),
    Column('resource_versions', Text),
    Column('load', Integer, nullable=False, default=0),
    UniqueConstraint('agent_type', 'host', name='uq_agents_agent_type_host'),
)

# Which DHCP agents serve which network (Neutron's networkdhcpagentbindings).
network_dhcp_agents = Table(
    'networkdhcpagentbindings', metadata,
    Column('network_id', UUID, ForeignKey('networks.id', ondelete='CASCADE'),
           primary_key=True),
    Column('dhcp_agent_id', UUID, ForeignKey('agents.id', ondelete='CASCADE'),
           primary_key=True, index=True),
    Column('binding_index', Integer, nullable=False, default=1),
    UniqueConstraint('network_id', 'binding_index',
                     name='uq_networkdhcpagentbindings_network_id_index'),
)

# A network's segments (Neutron's networksegments): how it is carried.
# kaon has one segment per network today: `local` (one host's bridges) or
# `flat` (untagged on a physical network); segment_index orders the
# segments of multi-segment networks, is_dynamic marks ones a driver made.
# At most one flat segment per physical network (ML2's flat allocations).
network_segments = Table(
    'networksegments', metadata,
    Column('id', UUID, primary_key=True),
    Column('network_id', UUID, ForeignKey('networks.id', ondelete='CASCADE'),
           nullable=False, index=True),
    Column('network_type', String(32), nullable=False),
    Column('physical_network', String(64)),
    Column('segmentation_id', Integer),
    Column('is_dynamic', Boolean, nullable=False, default=False),
    Column('segment_index', Integer, nullable=False, default=0),
    Index('uq_networksegments_flat_physical_network', 'physical_network',
          unique=True, sqlite_where=text("network_type = 'flat'"),
          postgresql_where=text("network_type = 'flat'")),
)

# RBAC policies (Neutron's networkrbacs, securitygrouprbacs, ... as one
# table with the object's type): who, besides its owner, may use an object.
# `target_project` is a project id or '*' (everyone).  object_id has no
# foreign key (it names rows of several tables); deleting an object deletes
# its policies (kaon.plugin.rbac.drop_policies).  networks.shared caches
# "a '*' access_as_shared policy exists" for the wildcard case (see
# kaon.plugin.rbac).
rbac_policies = Table(
    'rbac_policies', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('object_type', String(64), nullable=False),
    Column('object_id', UUID, nullable=False, index=True),
    Column('action', String(255), nullable=False),
    Column('target_project', NAME, nullable=False, index=True),
    UniqueConstraint('object_type', 'object_id', 'action', 'target_project',
                     name='uq_rbac_policies_object_action_target'),
)

# A port's allowed address pairs (Neutron's allowedaddresspairs): an IP or
# CIDR, and the MAC it may be sent from.
allowed_address_pairs = Table(
    'allowedaddresspairs', metadata,
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           primary_key=True),
    Column('mac_address', String(32), primary_key=True),
    Column('ip_address', String(64), primary_key=True),
)

# -- Security groups and port security (Neutron's securitygroups,
# securitygrouprules, securitygroupdefaultrules, default_security_group,
# securitygroupportbindings, networksecuritybindings, portsecuritybindings).
def _rule_columns() -> list[Column[Any]]:
    """What a rule of a group and a rule of the template share."""
    return [
        Column('direction', String(16), nullable=False),
        Column('ethertype', String(40), nullable=False),
        Column('protocol', String(40)),
        Column('port_range_min', Integer),
        Column('port_range_max', Integer),
        Column('remote_ip_prefix', String(255)),
    ]


security_groups = Table(
    'securitygroups', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('name', NAME, nullable=False, default=''),
    Column('stateful', Boolean, nullable=False, default=True),
    *_standard_attrs(),
)

# One row per project: the primary key is what makes two concurrent first
# uses unable to create two `default` groups.
default_security_groups = Table(
    'default_security_group', metadata,
    Column('project_id', NAME, primary_key=True),
    Column('security_group_id', UUID,
           ForeignKey('securitygroups.id', ondelete='CASCADE'),
           nullable=False, unique=True),
)

security_group_rules = Table(
    'securitygrouprules', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('security_group_id', UUID,
           ForeignKey('securitygroups.id', ondelete='CASCADE'),
           nullable=False, index=True),
    # Deleting a group deletes the rules naming it as remote (Neutron's FK).
    Column('remote_group_id', UUID,
           ForeignKey('securitygroups.id', ondelete='CASCADE'), index=True),
    *_rule_columns(),
    *_standard_attrs(),
)

# The template every new group's rules are copied from; remote_group_id
# may be the literal 'PARENT' (the new group itself), so it is no FK.
default_security_group_rules = Table(
    'securitygroupdefaultrules', metadata,
    Column('id', UUID, primary_key=True),
    *_rule_columns(),
    Column('remote_group_id', String(255)),
    Column('description', String(255), nullable=False, default=''),
    Column('used_in_default_sg', Boolean, nullable=False, default=False),
    Column('used_in_non_default_sg', Boolean, nullable=False, default=True),
)

security_group_port_bindings = Table(
    'securitygroupportbindings', metadata,
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           primary_key=True),
    Column('security_group_id', UUID, ForeignKey('securitygroups.id'),
           primary_key=True, index=True),
)

network_security_bindings = Table(
    'networksecuritybindings', metadata,
    Column('network_id', UUID, ForeignKey('networks.id', ondelete='CASCADE'),
           primary_key=True),
    Column('port_security_enabled', Boolean, nullable=False, default=True),
)

port_security_bindings = Table(
    'portsecuritybindings', metadata,
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           primary_key=True),
    Column('port_security_enabled', Boolean, nullable=False, default=True),
)

# Subnet pools (Neutron's subnetpools and subnetpoolprefixes).  A subnet
# allocated from a pool names it in subnets.subnetpool_id; the pool's row
# lock (taken by every allocation and by the pool's update and delete) is
# what keeps two allocations from one pool apart and a pool in use alive.
subnetpools = Table(
    'subnetpools', metadata,
    Column('id', UUID, primary_key=True),
    Column('project_id', NAME, nullable=False, index=True),
    Column('name', NAME, nullable=False),
    Column('ip_version', Integer, nullable=False),
    Column('default_prefixlen', Integer, nullable=False),
    Column('min_prefixlen', Integer, nullable=False),
    Column('max_prefixlen', Integer, nullable=False),
    Column('shared', Boolean, nullable=False, default=False),
    Column('is_default', Boolean, nullable=False, default=False),
    Column('default_quota', Integer),
    Column('address_scope_id', UUID),
    *_standard_attrs(),
)

subnetpool_prefixes = Table(
    'subnetpoolprefixes', metadata,
    Column('subnetpool_id', UUID,
           ForeignKey('subnetpools.id', ondelete='CASCADE'),
           primary_key=True),
    Column('cidr', String(64), primary_key=True),
)

subnets.append_column(Column('subnetpool_id', UUID, index=True))

# subnet-service-types: the device owners a subnet serves (none: any).
subnet_service_types = Table(
    'subnet_service_types', metadata,
    Column('subnet_id', UUID, ForeignKey('subnets.id', ondelete='CASCADE'),
           primary_key=True),
    Column('service_type', String(255), primary_key=True),
)

# ML2's segment allocation tables (Neutron's ml2_vxlan_allocations and
# ml2_vlan_allocations): one row per id of the configured ranges (made by
# kaon.plugin.segment_alloc.sync at server start), plus a row for each id
# an admin took outside them.  The primary key is what makes one VNI (one
# VLAN of a physical network) belong to one network, also under
# concurrency: taking an id is a conditional UPDATE of its row or an
# INSERT that a second taker fails on.
vxlan_allocations = Table(
    'ml2_vxlan_allocations', metadata,
    Column('vxlan_vni', Integer, primary_key=True, autoincrement=False),
    Column('allocated', Boolean, nullable=False, default=False, index=True),
)

vlan_allocations = Table(
    'ml2_vlan_allocations', metadata,
    Column('physical_network', String(64), primary_key=True),
    Column('vlan_id', Integer, primary_key=True, autoincrement=False),
    Column('allocated', Boolean, nullable=False, default=False),
    Index('ix_ml2_vlan_allocations_physical_network_allocated',
          'physical_network', 'allocated'),
)

# -- Port status and l2population (kaon.plugin.provisioning, .l2pop).
# What a port still waits for before it may be ACTIVE (Neutron's
# provisioningblocks, keyed by the port rather than a standard attribute):
# entity 'DHCP' (the DHCP agents serve it) or 'L2' (its host's L2 agent
# wired it).
provisioning_blocks = Table(
    'provisioningblocks', metadata,
    Column('port_id', UUID, ForeignKey('ports.id', ondelete='CASCADE'),
           primary_key=True),
    Column('entity', String(255), primary_key=True),
)

# The ports an L2 agent reported wired (update_device_list devices_up) on
# a host, on a network that has forwarding entries (vxlan), with what
# those entries carried.  No foreign keys on purpose: a row outlives its
# port or network until kaon.plugin.l2pop.reconcile has told the other
# hosts to forget the entries it stood for.
l2pop_ports = Table(
    'l2pop_ports', metadata,
    Column('port_id', UUID, primary_key=True),
    Column('network_id', UUID, nullable=False),
    Column('host', String(255), nullable=False),
    Column('segmentation_id', Integer),
    Column('mac_address', String(32), nullable=False),
    Column('ip_addresses', Text, nullable=False, default='[]'),
    Column('wired_at', DateTime, nullable=False),
    Index('ix_l2pop_ports_network_host', 'network_id', 'host'),
)
