"""customer journeys: journeys with their versions, entries, step logs, and the journey columns of sends

Revision ID: b789f90244a4
Revises: 37e5ce57b76b
Create Date: 2026-12-05 21:00:25.532784
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b789f90244a4'
down_revision = '37e5ce57b76b'  # staff tasks (which follow the lifecycle stages)
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('journeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('template', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('live', sa.JSON(), nullable=True),
    sa.Column('live_version', sa.Integer(), nullable=True),
    sa.Column('pending_version', sa.Integer(), nullable=True),
    sa.Column('paused_reason', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys'))
    )
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journeys_status'), ['status'], unique=False)

    op.create_table('journey_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('owner_userid', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exit_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_journey_entries_customer_id_customers')),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_entries_journey_id_journeys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_entries'))
    )
    with op.batch_alter_table('journey_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journey_entries_customer', ['external_userid', 'status'], unique=False)
        batch_op.create_index('ix_journey_entries_due', ['journey_id', 'status', 'step_index', 'due_at'], unique=False)
        batch_op.create_index('uq_journey_entries_active', ['journey_id', 'customer_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('journey_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_versions_journey_id_journeys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_versions'))
    )
    with op.batch_alter_table('journey_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_versions_journey_id'), ['journey_id'], unique=False)

    op.create_table('journey_step_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=True),
    sa.Column('task_ref', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journey_entries.id'], name=op.f('fk_journey_step_logs_entry_id_journey_entries')),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_step_logs_journey_id_journeys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_step_logs')),
    sa.UniqueConstraint('entry_id', 'step_index', name=op.f('uq_journey_step_logs_entry_id_step_index'))
    )
    with op.batch_alter_table('journey_step_logs', schema=None) as batch_op:
        batch_op.create_index('ix_journey_step_logs_journey', ['journey_id', 'step_index', 'outcome'], unique=False)
        batch_op.create_index('ix_journey_step_logs_send', ['send_id'], unique=False)

    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journey_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('journey_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('journey_slot', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('journey_version', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_campaign_runs_journey_slot', ['journey_id', 'journey_step', 'journey_slot'])
        batch_op.create_foreign_key(batch_op.f('fk_campaign_runs_journey_id_journeys'), 'journeys', ['journey_id'], ['id'])



def downgrade():
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_campaign_runs_journey_id_journeys'), type_='foreignkey')
        batch_op.drop_constraint('uq_campaign_runs_journey_slot', type_='unique')
        batch_op.drop_column('journey_version')
        batch_op.drop_column('journey_slot')
        batch_op.drop_column('journey_step')
        batch_op.drop_column('journey_id')

    with op.batch_alter_table('journey_step_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_step_logs_send')
        batch_op.drop_index('ix_journey_step_logs_journey')

    op.drop_table('journey_step_logs')
    with op.batch_alter_table('journey_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journey_versions_journey_id'))

    op.drop_table('journey_versions')
    with op.batch_alter_table('journey_entries', schema=None) as batch_op:
        batch_op.drop_index('uq_journey_entries_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_journey_entries_due')
        batch_op.drop_index('ix_journey_entries_customer')

    op.drop_table('journey_entries')
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journeys_status'))

    op.drop_table('journeys')
