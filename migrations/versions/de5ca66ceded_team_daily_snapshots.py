"""team performance: daily snapshots of each staff member's WeCom behaviour data and group statistics

Revision ID: de5ca66ceded
Revises: e701d059b126
Create Date: 2026-12-05 13:40:00

WeCom keeps these figures only 180 days, so the console keeps its own copy, one row per staff member (or group
owner) and corp-local day. Reply rate and reply time stay NULL on days WeCom gave none: missing, never 0.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'de5ca66ceded'
down_revision = "e701d059b126"
branch_labels = None
depends_on = None


def _counts(*names):
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade():
    op.create_table(
        "team_behavior_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counts("chat_cnt", "message_cnt"),
        sa.Column("reply_percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("avg_reply_minutes", sa.Numeric(precision=8, scale=2), nullable=True),
        *_counts("negative_feedback_cnt", "new_apply_cnt", "new_contact_cnt"),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_team_behavior_days"),
        sa.UniqueConstraint("userid", "day", name="uq_team_behavior_days_userid_day"),
    )
    op.create_index("ix_team_behavior_days_day", "team_behavior_days", ["day"])
    op.create_table(
        "team_group_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counts("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total", "member_has_msg",
                 "msg_total"),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_team_group_days"),
        sa.UniqueConstraint("owner", "day", name="uq_team_group_days_owner_day"),
    )
    op.create_index("ix_team_group_days_day", "team_group_days", ["day"])


def downgrade():
    op.drop_index("ix_team_group_days_day", table_name="team_group_days")
    op.drop_table("team_group_days")
    op.drop_index("ix_team_behavior_days_day", table_name="team_behavior_days")
    op.drop_table("team_behavior_days")
