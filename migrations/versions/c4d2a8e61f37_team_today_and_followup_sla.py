"""team performance: today's figures summed every minute, and the follow-up SLA in the roll-up

Revision ID: c4d2a8e61f37
Revises: c4d2a9e7f1b3
Create Date: 2026-12-06 01:30:00

Each page, export and API call added up today's source rows again (150-250 ms of the overview at 1M customers, and
three answers that could differ); a minute job keeps today's sums per member and per selection in the live tables.
The roll-up gains the follow-up SLA sums (tasks due, done on time) per member and day (0 until the next build).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2a8e61f37'
down_revision = 'c4d2a9e7f1b3'  # after the community
branch_labels = None
depends_on = None

SUMS = ("adds", "lost_by_customer", "lost_by_staff", "welcome_sent", "welcome_tried", "push_assigned",
        "push_on_time", "push_late", "push_never", "orders", "gmv_fen", "chats", "messages", "reply_chats",
        "reply_pct_chats", "reply_min_chats", "negative_feedback", "friend_requests", "new_contacts",
        "members_spoke", "members", "group_messages", "sla_due", "sla_on_time")
NEW = ("sla_due", "sla_on_time")
ROLLUP = ("team_staff_days", "team_staff_running", "team_selection_days")


def _sums():
    return [sa.Column(name, sa.Numeric(18, 2) if name in ("reply_pct_chats", "reply_min_chats") else sa.BigInteger(),
                      nullable=False) for name in SUMS]


def upgrade():
    for table in ROLLUP:
        with op.batch_alter_table(table) as batch:
            for name in NEW:
                batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "team_live_staff_days",
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("userid", "day"),
    )
    op.create_table(
        "team_live_selection_days",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("key", "day"),
    )
    op.create_table(
        "team_live_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade():
    op.drop_table("team_live_days")
    op.drop_table("team_live_selection_days")
    op.drop_table("team_live_staff_days")
    for table in ROLLUP:
        with op.batch_alter_table(table) as batch:
            for name in NEW:
                batch.drop_column(name)
