"""RBAC policies and allowed address pairs

Revision ID: 0004_rbac_address_pairs
Revises: 0003_security_groups

Every network stored with shared = true gets the '*' access_as_shared
policy that now says so (owned by the network's project, as Neutron's own
migration to RBAC did); the `shared` column stays, as the cache of that
policy kaon.plugin.rbac keeps.
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = '0004_rbac_address_pairs'
down_revision = '0003_security_groups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    policies = op.create_table('rbac_policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=255), nullable=False),
    sa.Column('target_project', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rbac_policies')),
    sa.UniqueConstraint('object_type', 'object_id', 'action', 'target_project', name='uq_rbac_policies_object_action_target')
    )
    with op.batch_alter_table('rbac_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rbac_policies_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rbac_policies_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rbac_policies_target_project'), ['target_project'], unique=False)

    op.create_table('allowedaddresspairs',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_allowedaddresspairs_port_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', 'mac_address', 'ip_address', name=op.f('pk_allowedaddresspairs'))
    )

    networks = sa.table('networks', sa.column('id', sa.String),
                        sa.column('project_id', sa.String),
                        sa.column('shared', sa.Boolean))
    shared = op.get_bind().execute(
        sa.select(networks.c.id, networks.c.project_id)
        .where(networks.c.shared.is_(True))).all()
    if shared:
        op.bulk_insert(policies, [
            {'id': str(uuid.uuid4()), 'project_id': row.project_id,
             'object_type': 'network', 'object_id': row.id,
             'action': 'access_as_shared', 'target_project': '*'}
            for row in shared])


def downgrade() -> None:
    op.drop_table('allowedaddresspairs')
    op.drop_table('rbac_policies')
