"""campaigns: pushes and variants, runs, the delivery outbox, send tasks, outside sends, opt-outs, approvals, policies

Revision ID: b17c5e3f4065
Revises: a06b4d2e3f54
Create Date: 2026-11-23 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b17c5e3f4065'
down_revision = 'a06b4d2e3f54'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_outside_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=False),
    sa.Column('sender_userid', sa.String(length=64), nullable=False),
    sa.Column('target_key', sa.String(length=64), nullable=False),
    sa.Column('chat_type', sa.String(length=8), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_outside_sends')),
    sa.UniqueConstraint('msgid', 'target_key', name=op.f('uq_campaign_outside_sends_msgid_target_key'))
    )
    with op.batch_alter_table('campaign_outside_sends', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_outside_sends_target', ['target_key', 'sent_at'], unique=False)

    op.create_table('campaign_policies',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_campaign_policies'))
    )
    op.create_table('campaign_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_opt_outs_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_opt_outs')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_campaign_opt_outs_customer_id'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('chat_type', sa.String(length=8), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('audience_rule', sa.JSON(), nullable=True),
    sa.Column('group_filter', sa.JSON(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('schedule_kind', sa.String(length=8), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('time_of_day', sa.String(length=5), nullable=True),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('sender_userids', sa.JSON(), nullable=False),
    sa.Column('sender_department_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('approved_version', sa.Integer(), nullable=True),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attribution_days', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_campaigns_segment_id_segments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)

    op.create_table('campaign_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_approvals_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_approvals'))
    )
    with op.batch_alter_table('campaign_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_approvals_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('campaign_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('test_target', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_runs_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_runs')),
    sa.UniqueConstraint('campaign_id', 'scheduled_for', name=op.f('uq_campaign_runs_campaign_id_scheduled_for'))
    )
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_runs_status'), ['status'], unique=False)

    op.create_table('campaign_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=8), nullable=False),
    sa.Column('split_percent', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_variants_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_variants')),
    sa.UniqueConstraint('campaign_id', 'key', name=op.f('uq_campaign_variants_campaign_id_key'))
    )
    with op.batch_alter_table('campaign_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_variants_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_send_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('sender_userid', sa.String(length=64), nullable=False),
    sa.Column('variant_key', sa.String(length=8), nullable=False),
    sa.Column('chunk_no', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=True),
    sa.Column('fail_list', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('remind_count', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_campaign_send_tasks_run_id_campaign_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_send_tasks')),
    sa.UniqueConstraint('run_id', 'sender_userid', 'variant_key', 'chunk_no', name='uq_campaign_send_tasks_chunk')
    )
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_send_tasks_msgid'), ['msgid'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_send_tasks_next_poll_at'), ['next_poll_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_send_tasks_status'), ['status'], unique=False)

    op.create_table('campaign_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('target_key', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('sender_userid', sa.String(length=64), nullable=True),
    sa.Column('variant_key', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('skip_reason', sa.String(length=32), nullable=True),
    sa.Column('fail_reason', sa.String(length=32), nullable=True),
    sa.Column('send_task_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_campaign_deliveries_run_id_campaign_runs')),
    sa.ForeignKeyConstraint(['send_task_id'], ['campaign_send_tasks.id'], name=op.f('fk_campaign_deliveries_send_task_id_campaign_send_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_deliveries')),
    sa.UniqueConstraint('run_id', 'target_key', name=op.f('uq_campaign_deliveries_run_id_target_key'))
    )
    with op.batch_alter_table('campaign_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_deliveries_claim', ['run_id', 'status', 'sender_userid'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_deliveries_send_task_id'), ['send_task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('campaign_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_deliveries_send_task_id'))
        batch_op.drop_index('ix_campaign_deliveries_claim')

    op.drop_table('campaign_deliveries')
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_send_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_campaign_send_tasks_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_campaign_send_tasks_msgid'))

    op.drop_table('campaign_send_tasks')
    with op.batch_alter_table('campaign_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_variants_campaign_id'))

    op.drop_table('campaign_variants')
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_runs_status'))

    op.drop_table('campaign_runs')
    with op.batch_alter_table('campaign_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_approvals_campaign_id'))

    op.drop_table('campaign_approvals')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_status'))

    op.drop_table('campaigns')
    op.drop_table('campaign_opt_outs')
    op.drop_table('campaign_policies')
    with op.batch_alter_table('campaign_outside_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_outside_sends_target')

    op.drop_table('campaign_outside_sends')
