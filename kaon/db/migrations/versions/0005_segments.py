"""network segments (provider:network_type, physical_network,
segmentation_id); every existing network gets a `local` segment

Revision ID: 0005_segments
Revises: 0004_rbac_address_pairs
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = '0005_segments'
down_revision = '0004_rbac_address_pairs'
branch_labels = None
depends_on = None

_FLAT = sa.text("network_type = 'flat'")


def upgrade() -> None:
    op.create_table('networksegments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('network_type', sa.String(length=32), nullable=False),
    sa.Column('physical_network', sa.String(length=64), nullable=True),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.Column('is_dynamic', sa.Boolean(), nullable=False),
    sa.Column('segment_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_networksegments_network_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networksegments'))
    )
    with op.batch_alter_table('networksegments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networksegments_network_id'), ['network_id'], unique=False)
        batch_op.create_index('uq_networksegments_flat_physical_network', ['physical_network'], unique=True, sqlite_where=_FLAT, postgresql_where=_FLAT)
    conn = op.get_bind()
    networks = [row[0] for row in conn.execute(sa.text('SELECT id FROM networks'))]
    if networks:
        segments = sa.table(
            'networksegments', sa.column('id'), sa.column('network_id'),
            sa.column('network_type'), sa.column('is_dynamic'),
            sa.column('segment_index'))
        op.bulk_insert(segments, [
            {'id': str(uuid.uuid4()), 'network_id': net_id,
             'network_type': 'local', 'is_dynamic': False,
             'segment_index': 0} for net_id in networks])

