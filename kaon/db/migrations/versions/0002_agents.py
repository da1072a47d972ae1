"""agents and DHCP agent bindings

Revision ID: 0002_agents
Revises: 0001_initial
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_agents'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agent_type', sa.String(length=255), nullable=False),
    sa.Column('binary', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=True),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_timestamp', sa.DateTime(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('configurations', sa.Text(), nullable=False),
    sa.Column('resource_versions', sa.Text(), nullable=True),
    sa.Column('load', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('agent_type', 'host', name='uq_agents_agent_type_host')
    )
    op.create_table('networkdhcpagentbindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('dhcp_agent_id', sa.String(length=36), nullable=False),
    sa.Column('binding_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dhcp_agent_id'], ['agents.id'], name=op.f('fk_networkdhcpagentbindings_dhcp_agent_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_networkdhcpagentbindings_network_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', 'dhcp_agent_id', name=op.f('pk_networkdhcpagentbindings')),
    sa.UniqueConstraint('network_id', 'binding_index', name='uq_networkdhcpagentbindings_network_id_index')
    )
    with op.batch_alter_table('networkdhcpagentbindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networkdhcpagentbindings_dhcp_agent_id'), ['dhcp_agent_id'], unique=False)

