"""customer_rfm_scores: rewritten in place each recompute (no run_id index or foreign key; half-empty pages on PostgreSQL)

Every recompute rewrites every score row (recency moves by a day) and sets its run_id. The run_id index served no
query and made every rewrite touch every index; the foreign key ran one check per row (9 s at 1,000,000). With
fillfactor 50 the new version of a row fits on its page, so PostgreSQL updates it without touching any index.
Existing pages keep their fill until rewritten (a VACUUM FULL applies the new fill at once).

Revision ID: d39e7a516287
Revises: 16a2c4e6f8b1
Create Date: 2026-11-23 19:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd39e7a516287'
down_revision = '16a2c4e6f8b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer_rfm_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_rfm_scores_run_id'))
        batch_op.drop_constraint(batch_op.f('fk_customer_rfm_scores_run_id_rfm_runs'), type_='foreignkey')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customer_rfm_scores SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customer_rfm_scores RESET (fillfactor)")
    with op.batch_alter_table('customer_rfm_scores', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_customer_rfm_scores_run_id_rfm_runs'), 'rfm_runs', ['run_id'],
                                    ['id'])
        batch_op.create_index(batch_op.f('ix_customer_rfm_scores_run_id'), ['run_id'], unique=False)
