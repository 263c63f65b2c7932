"""tags: rules that maintain a corp tag from a segment rule, their runs, and the marks WeCom refused

Revision ID: 9e5a3c1f2d43
Revises: 8d4f2b0e1c32
Create Date: 2026-11-23 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e5a3c1f2d43'
down_revision = '8d4f2b0e1c32'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tag_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('tag_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.JSON(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_rules')),
    sa.UniqueConstraint('tag_id', name=op.f('uq_tag_rules_tag_id'))
    )
    op.create_table('tag_rule_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_rule_runs'))
    )
    with op.batch_alter_table('tag_rule_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_rule_runs_status'), ['status'], unique=False)
    op.create_table('tag_rule_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['tag_rules.id'], name=op.f('fk_tag_rule_failures_rule_id_tag_rules'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_rule_failures')),
    sa.UniqueConstraint('rule_id', 'userid', 'external_userid', name=op.f('uq_tag_rule_failures_rule_id_userid_external_userid'))
    )
    with op.batch_alter_table('tag_rule_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_rule_failures_rule_id'), ['rule_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tag_rule_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_rule_failures_rule_id'))
    op.drop_table('tag_rule_failures')
    with op.batch_alter_table('tag_rule_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_rule_runs_status'))
    op.drop_table('tag_rule_runs')
    op.drop_table('tag_rules')
