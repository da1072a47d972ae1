"""provisioning blocks (port status) and l2population's wired ports

Revision ID: 0008_provisioning_blocks
Revises: 0006_subnetpools
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_provisioning_blocks'
down_revision = '0007_segment_allocations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provisioningblocks',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_provisioningblocks_port_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', 'entity', name=op.f('pk_provisioningblocks'))
    )
    op.create_table('l2pop_ports',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('ip_addresses', sa.Text(), nullable=False),
    sa.Column('wired_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('port_id', name=op.f('pk_l2pop_ports'))
    )
    op.create_index('ix_l2pop_ports_network_host', 'l2pop_ports',
                    ['network_id', 'host'], unique=False)
