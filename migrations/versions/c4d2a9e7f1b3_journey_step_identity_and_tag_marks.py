"""journey steps known by identity across versions (step logs keyed by it), and the tag step's owed marks

Revision ID: c4d2a9e7f1b3
Revises: b04c394f6c59
Create Date: 2026-12-06 01:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2a9e7f1b3'
down_revision = 'b04c394f6c59'  # community (the last of the session-7 chain)
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journey_step_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_id', sa.String(length=16), nullable=True))
    # steps saved before identities existed are known by position (app/journeys/spec.py step_ids): s1, s2, ...
    op.execute("UPDATE journey_step_logs SET step_id = 's' || CAST(step_index + 1 AS VARCHAR(8))")
    with op.batch_alter_table('journey_step_logs', schema=None) as batch_op:
        batch_op.alter_column('step_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_index('ix_journey_step_logs_journey')
        batch_op.drop_constraint('uq_journey_step_logs_entry_id_step_index', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_journey_step_logs_entry_id_step_id'), ['entry_id', 'step_id'])
        batch_op.create_index('ix_journey_step_logs_journey', ['journey_id', 'step_id', 'outcome'], unique=False)

    op.create_table('journey_tag_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=16), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('tag_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journey_entries.id'], name=op.f('fk_journey_tag_marks_entry_id_journey_entries')),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_tag_marks_journey_id_journeys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_tag_marks')),
    sa.UniqueConstraint('entry_id', 'step_id', name=op.f('uq_journey_tag_marks_entry_id_step_id'))
    )
    with op.batch_alter_table('journey_tag_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_tag_marks_journey_id'), ['journey_id'], unique=False)
        batch_op.create_index('ix_journey_tag_marks_state', ['state', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('journey_tag_marks', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_tag_marks_state')
        batch_op.drop_index(batch_op.f('ix_journey_tag_marks_journey_id'))
    op.drop_table('journey_tag_marks')

    # a step run under two positions (versions) for one entry cannot keep both rows under the old key
    op.execute("DELETE FROM journey_step_logs WHERE id NOT IN "
               "(SELECT min(id) FROM journey_step_logs GROUP BY entry_id, step_index)")
    with op.batch_alter_table('journey_step_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_step_logs_journey')
        batch_op.drop_constraint(batch_op.f('uq_journey_step_logs_entry_id_step_id'), type_='unique')
        batch_op.create_unique_constraint('uq_journey_step_logs_entry_id_step_index', ['entry_id', 'step_index'])
        batch_op.create_index('ix_journey_step_logs_journey', ['journey_id', 'step_index', 'outcome'], unique=False)
        batch_op.drop_column('step_id')
