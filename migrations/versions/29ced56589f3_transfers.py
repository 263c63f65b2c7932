"""transfers (客户继承): batches and their items, the departed members' customers, and AB角 backups

Revision ID: 29ced56589f3
Revises: 9e241438a9cf
Create Date: 2026-12-05 21:01:31

An item is one customer or group of a batch with its status and reason; `accepted_at` marks a handover WeCom
started, which counts toward the two a customer may have.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '29ced56589f3'
down_revision = 'b4e6d8f0a2c1'  # after the heartbeat columns are gone
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_backups',
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('backup_userid', sa.String(length=64), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('userid', name=op.f('pk_staff_backups'))
    )
    op.create_table('transfer_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('takeover_userid', sa.String(length=64), nullable=False),
    sa.Column('handover_userid', sa.String(length=64), nullable=False),
    sa.Column('success_msg', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_batches'))
    )
    op.create_table('transfer_unassigned',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handover_userid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('dimission_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_unassigned')),
    sa.UniqueConstraint('handover_userid', 'external_userid', name=op.f('uq_transfer_unassigned_handover_userid_external_userid'))
    )
    with op.batch_alter_table('transfer_unassigned', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_unassigned_handover_userid'), ['handover_userid'], unique=False)

    op.create_table('transfer_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('handover_userid', sa.String(length=64), nullable=False),
    sa.Column('takeover_userid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('reason_params', sa.JSON(), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner_moved', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['transfer_batches.id'], name=op.f('fk_transfer_items_batch_id_transfer_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_items')),
    sa.UniqueConstraint('batch_id', 'target', 'object_id', name=op.f('uq_transfer_items_batch_id_target_object_id'))
    )
    with op.batch_alter_table('transfer_items', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_items_object_status', ['object_id', 'status'], unique=False)
        batch_op.create_index('ix_transfer_items_status_batch', ['status', 'batch_id'], unique=False)



def downgrade():
    with op.batch_alter_table('transfer_items', schema=None) as batch_op:
        batch_op.drop_index('ix_transfer_items_status_batch')
        batch_op.drop_index('ix_transfer_items_object_status')

    op.drop_table('transfer_items')
    with op.batch_alter_table('transfer_unassigned', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_unassigned_handover_userid'))

    op.drop_table('transfer_unassigned')
    op.drop_table('transfer_batches')
    op.drop_table('staff_backups')
