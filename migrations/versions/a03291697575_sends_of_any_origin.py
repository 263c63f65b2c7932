"""sends of any origin: campaign_runs becomes the send engine's table (origin, channel, category, holdout key, variants,
send time); the campaign's own columns may be empty for other origins

Revision ID: a03291697575
Revises: 1473d96821bf
Create Date: 2026-12-05 13:20:00

Existing rows are campaign runs: their channel, category, holdout and variants are copied from their campaign (the
variants as the campaign holds them now: a run still to be cut into tasks is checked against the approved version
when it is, so it sends exactly these), and their send time is when they were allowed to go or scheduled.
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a03291697575'
down_revision = "1473d96821bf"
branch_labels = None
depends_on = None

CAMPAIGN_COLUMNS = (("campaign_id", sa.Integer()), ("kind", sa.String(length=16)),
                    ("scheduled_for", sa.DateTime(timezone=True)), ("campaign_version", sa.Integer()),
                    ("created_by", sa.String(length=128)))


def upgrade():
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=32), nullable=False, server_default='campaign'))
        batch_op.add_column(sa.Column('chat_type', sa.String(length=8), nullable=False, server_default='single'))
        batch_op.add_column(sa.Column('category', sa.String(length=16), nullable=False, server_default='promotion'))
        batch_op.add_column(sa.Column('holdout_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('holdout_percent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('variants', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('send_at', sa.DateTime(timezone=True), nullable=True))
        for name, type_ in CAMPAIGN_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=True)
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE campaign_runs SET chat_type = c.chat_type, category = c.category, holdout_percent = c.holdout_percent,"
        " holdout_key = CAST(c.id AS VARCHAR(64)), send_at = COALESCE(campaign_runs.not_before, campaign_runs.scheduled_for)"
        " FROM campaigns c WHERE c.id = campaign_runs.campaign_id"))
    campaigns = bind.execute(sa.text("SELECT id, content FROM campaigns")).all()
    for campaign_id, content in campaigns:
        content = json.loads(content) if isinstance(content, str) else content
        rows = bind.execute(sa.text("SELECT key, split_percent, content FROM campaign_variants WHERE campaign_id = :c"
                                    " ORDER BY key"), {"c": campaign_id}).all()
        variants = [{"key": key, "percent": percent,
                     "content": (json.loads(own) if isinstance(own, str) else own) or content or {}}
                    for key, percent, own in rows] or [{"key": "A", "percent": 100, "content": content or {}}]
        bind.execute(sa.text("UPDATE campaign_runs SET variants = :v WHERE campaign_id = :c"),
                     {"v": json.dumps(variants, ensure_ascii=False), "c": campaign_id})
    bind.execute(sa.text("UPDATE campaign_runs SET variants = '[]' WHERE variants IS NULL"))
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.alter_column('variants', existing_type=sa.JSON(), nullable=False)


def downgrade():
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM campaign_deliveries WHERE run_id IN"
                         " (SELECT id FROM campaign_runs WHERE origin <> 'campaign')"))
    bind.execute(sa.text("DELETE FROM campaign_send_tasks WHERE run_id IN"
                         " (SELECT id FROM campaign_runs WHERE origin <> 'campaign')"))
    bind.execute(sa.text("DELETE FROM campaign_runs WHERE origin <> 'campaign'"))
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        for name, type_ in CAMPAIGN_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        for name in ('send_at', 'variants', 'holdout_percent', 'holdout_key', 'category', 'chat_type', 'origin'):
            batch_op.drop_column(name)
