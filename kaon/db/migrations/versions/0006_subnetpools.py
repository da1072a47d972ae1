"""subnet pools, subnets.subnetpool_id, subnet service types

Revision ID: 0006_subnetpools
Revises: 0005_segments
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_subnetpools'
down_revision = '0005_segments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subnetpools',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('default_prefixlen', sa.Integer(), nullable=False),
    sa.Column('min_prefixlen', sa.Integer(), nullable=False),
    sa.Column('max_prefixlen', sa.Integer(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('default_quota', sa.Integer(), nullable=True),
    sa.Column('address_scope_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnetpools'))
    )
    op.create_index(op.f('ix_subnetpools_project_id'), 'subnetpools',
                    ['project_id'], unique=False)
    op.create_table('subnetpoolprefixes',
    sa.Column('subnetpool_id', sa.String(length=36), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['subnetpool_id'], ['subnetpools.id'], name=op.f('fk_subnetpoolprefixes_subnetpool_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnetpool_id', 'cidr', name=op.f('pk_subnetpoolprefixes'))
    )
    # A plain column, no foreign key: SQLite cannot add one to an existing
    # table without rebuilding it (and the rebuild would cascade-delete the
    # subnets' pools and allocations).  The pool's row lock guards it.
    op.add_column('subnets', sa.Column('subnetpool_id', sa.String(length=36),
                                       nullable=True))
    op.create_index(op.f('ix_subnets_subnetpool_id'), 'subnets',
                    ['subnetpool_id'], unique=False)
    op.create_table('subnet_service_types',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('service_type', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], name=op.f('fk_subnet_service_types_subnet_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnet_id', 'service_type', name=op.f('pk_subnet_service_types'))
    )
