"""lifecycle stages: each customer's current stage, the movements between stages, the daily runs and the settings

Revision ID: ea3f208ad7af
Revises: 9e241438a9cf
Create Date: 2026-12-05 20:55:50.647492

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ea3f208ad7af'
down_revision = '9e241438a9cf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lifecycle_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('from_stage', sa.String(length=16), nullable=True),
    sa.Column('to_stage', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_movements'))
    )
    with op.batch_alter_table('lifecycle_movements', schema=None) as batch_op:
        batch_op.create_index('ix_lifecycle_movements_day_to_stage', ['day', 'to_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_lifecycle_movements_external_userid'), ['external_userid'], unique=False)

    op.create_table('lifecycle_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_runs'))
    )
    with op.batch_alter_table('lifecycle_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lifecycle_runs_status'), ['status'], unique=False)

    op.create_table('lifecycle_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_settings'))
    )
    op.create_table('lifecycle_stages',
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('last_interaction_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tagged_stage', sa.String(length=16), nullable=True),
    sa.Column('mark_state', sa.String(length=16), nullable=False),
    sa.Column('mark_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('external_userid', name=op.f('pk_lifecycle_stages')),
    postgresql_with={'fillfactor': 80}
    )
    with op.batch_alter_table('lifecycle_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lifecycle_stages_mark_state'), ['mark_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_lifecycle_stages_stage'), ['stage'], unique=False)



def downgrade():
    with op.batch_alter_table('lifecycle_stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lifecycle_stages_stage'))
        batch_op.drop_index(batch_op.f('ix_lifecycle_stages_mark_state'))

    op.drop_table('lifecycle_stages')
    op.drop_table('lifecycle_settings')
    with op.batch_alter_table('lifecycle_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lifecycle_runs_status'))

    op.drop_table('lifecycle_runs')
    with op.batch_alter_table('lifecycle_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lifecycle_movements_external_userid'))
        batch_op.drop_index('ix_lifecycle_movements_day_to_stage')

    op.drop_table('lifecycle_movements')
