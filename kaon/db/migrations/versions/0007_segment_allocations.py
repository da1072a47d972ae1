"""VXLAN and VLAN segment allocations (ML2's ml2_vxlan_allocations and
ml2_vlan_allocations); the rows of the configured ranges are made at
server start, not here

Revision ID: 0007_segment_allocations
Revises: 0006_subnetpools
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_segment_allocations'
down_revision = '0006_subnetpools'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml2_vxlan_allocations',
    sa.Column('vxlan_vni', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('allocated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('vxlan_vni', name=op.f('pk_ml2_vxlan_allocations'))
    )
    op.create_index(op.f('ix_ml2_vxlan_allocations_allocated'),
                    'ml2_vxlan_allocations', ['allocated'], unique=False)
    op.create_table('ml2_vlan_allocations',
    sa.Column('physical_network', sa.String(length=64), nullable=False),
    sa.Column('vlan_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('allocated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('physical_network', 'vlan_id',
                            name=op.f('pk_ml2_vlan_allocations'))
    )
    op.create_index('ix_ml2_vlan_allocations_physical_network_allocated',
                    'ml2_vlan_allocations', ['physical_network', 'allocated'],
                    unique=False)
