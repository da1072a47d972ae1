"""security groups, rules, default rules, port bindings, port security

Revision ID: 0003_security_groups
Revises: 0002_agents

Port security lives in tables of its own (networksecuritybindings,
portsecuritybindings) as in Neutron, not in columns of networks and ports:
the existing tables stay as they are, and a network or port without a row
(made before this migration) has port security on, Neutron's default.

The default rules are seeded with Neutron's defaults: every group may send
anything (IPv4 and IPv6); the default group also admits its own members.
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = '0003_security_groups'
down_revision = '0002_agents'
branch_labels = None
depends_on = None

UUID = sa.String(length=36)
NAME = sa.String(length=255)


def _standard() -> list[sa.Column]:
    return [sa.Column('description', sa.String(length=255), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False),
            sa.Column('revision_number', sa.Integer(), nullable=False)]


def _rule_columns() -> list[sa.Column]:
    return [sa.Column('direction', sa.String(length=16), nullable=False),
            sa.Column('ethertype', sa.String(length=40), nullable=False),
            sa.Column('protocol', sa.String(length=40), nullable=True),
            sa.Column('port_range_min', sa.Integer(), nullable=True),
            sa.Column('port_range_max', sa.Integer(), nullable=True),
            sa.Column('remote_ip_prefix', NAME, nullable=True)]


def upgrade() -> None:
    op.create_table(
        'securitygroups',
        sa.Column('id', UUID, nullable=False),
        sa.Column('project_id', NAME, nullable=False),
        sa.Column('name', NAME, nullable=False),
        sa.Column('stateful', sa.Boolean(), nullable=False),
        *_standard(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_securitygroups')))
    op.create_index(op.f('ix_securitygroups_project_id'), 'securitygroups',
                    ['project_id'])
    op.create_table(
        'default_security_group',
        sa.Column('project_id', NAME, nullable=False),
        sa.Column('security_group_id', UUID, nullable=False),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_default_security_group_security_group_id'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id',
                                name=op.f('pk_default_security_group')),
        sa.UniqueConstraint(
            'security_group_id',
            name=op.f('uq_default_security_group_security_group_id')))
    op.create_table(
        'securitygrouprules',
        sa.Column('id', UUID, nullable=False),
        sa.Column('project_id', NAME, nullable=False),
        sa.Column('security_group_id', UUID, nullable=False),
        sa.Column('remote_group_id', UUID, nullable=True),
        *_rule_columns(),
        *_standard(),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygrouprules_security_group_id'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['remote_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygrouprules_remote_group_id'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_securitygrouprules')))
    for column in ('project_id', 'security_group_id', 'remote_group_id'):
        op.create_index(op.f(f'ix_securitygrouprules_{column}'),
                        'securitygrouprules', [column])
    defaults = op.create_table(
        'securitygroupdefaultrules',
        sa.Column('id', UUID, nullable=False),
        *_rule_columns(),
        sa.Column('remote_group_id', NAME, nullable=True),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('used_in_default_sg', sa.Boolean(), nullable=False),
        sa.Column('used_in_non_default_sg', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id',
                                name=op.f('pk_securitygroupdefaultrules')))
    op.bulk_insert(defaults, [
        {'id': str(uuid.uuid4()), 'direction': direction,
         'ethertype': ethertype, 'protocol': None, 'port_range_min': None,
         'port_range_max': None, 'remote_ip_prefix': None,
         'remote_group_id': remote,
         'description': f'Legacy default SG rule for {direction} traffic',
         'used_in_default_sg': True, 'used_in_non_default_sg': remote is None}
        for direction, remote in (('egress', None), ('ingress', 'PARENT'))
        for ethertype in ('IPv4', 'IPv6')])
    op.create_table(
        'securitygroupportbindings',
        sa.Column('port_id', UUID, nullable=False),
        sa.Column('security_group_id', UUID, nullable=False),
        sa.ForeignKeyConstraint(
            ['port_id'], ['ports.id'],
            name=op.f('fk_securitygroupportbindings_port_id'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygroupportbindings_security_group_id')),
        sa.PrimaryKeyConstraint(
            'port_id', 'security_group_id',
            name=op.f('pk_securitygroupportbindings')))
    op.create_index(op.f('ix_securitygroupportbindings_security_group_id'),
                    'securitygroupportbindings', ['security_group_id'])
    for table, parent, column in (
            ('networksecuritybindings', 'networks', 'network_id'),
            ('portsecuritybindings', 'ports', 'port_id')):
        op.create_table(
            table,
            sa.Column(column, UUID, nullable=False),
            sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint([column], [f'{parent}.id'],
                                    name=op.f(f'fk_{table}_{column}'),
                                    ondelete='CASCADE'),
            sa.PrimaryKeyConstraint(column, name=op.f(f'pk_{table}')))
