"""relation events: failed handovers (transfer_fail) and chat-archiving consent (msg_audit_approved)

Revision ID: 6f1c9a2d4b37
Revises: 7c3e9a1b5d24
Create Date: 2026-12-05 08:10:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6f1c9a2d4b37'
down_revision = '7c3e9a1b5d24'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('relation_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inbox_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('userid', sa.String(length=64), nullable=False),
        sa.Column('external_userid', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.String(length=64), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_relation_events')),
        sa.UniqueConstraint('inbox_id', name=op.f('uq_relation_events_inbox_id'))
    )
    op.create_index(op.f('ix_relation_events_external_userid'), 'relation_events', ['external_userid'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_relation_events_external_userid'), table_name='relation_events')
    op.drop_table('relation_events')
