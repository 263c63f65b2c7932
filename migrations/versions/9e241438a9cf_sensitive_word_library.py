"""sensitive-word library: categories (enabled, revision) and words; the push policy's word list moved into it

Revision ID: 9e241438a9cf
Revises: 8553385b54e2
Create Date: 2026-12-05 13:20:00

The words the push settings page kept (campaign_policies 'sensitive_words', at most 2,000) become words of the
category 自定义; where none were ever saved, the built-in defaults the console applied until now are added to their
categories, so nothing that was refused before is let through after the upgrade.
"""
import json
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e241438a9cf'
down_revision = "8553385b54e2"
branch_labels = None
depends_on = None

CATEGORIES = ("广告法极限词", "医疗", "金融", "政治", "自定义")
OLD_DEFAULTS = {"最低价": "广告法极限词", "国家级": "广告法极限词", "全网第一": "广告法极限词", "绝对有效": "广告法极限词",
                "百分百": "广告法极限词", "稳赚": "金融", "保本": "金融", "根治": "医疗"}


def upgrade():
    categories = op.create_table(
        "word_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_word_categories_name")),
    )
    words = op.create_table(
        "sensitive_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=32), nullable=False),
        sa.Column("lowered", sa.String(length=32), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["word_categories.id"],
                                name=op.f("fk_sensitive_words_category_id_word_categories"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensitive_words")),
        sa.UniqueConstraint("lowered", name=op.f("uq_sensitive_words_lowered")),
    )
    with op.batch_alter_table("sensitive_words") as batch:
        batch.create_index(batch.f("ix_sensitive_words_category_id"), ["category_id"], unique=False)

    now = datetime.now(timezone.utc)
    op.bulk_insert(categories, [{"id": i, "name": name, "enabled": True, "revision": 1, "updated_at": now}
                                for i, name in enumerate(CATEGORIES, start=1)])
    conn = op.get_bind()
    stored = conn.execute(sa.text("SELECT value FROM campaign_policies WHERE key = 'sensitive_words'")).scalar()
    if stored is None:
        wanted = OLD_DEFAULTS
    else:
        listed = json.loads(stored) if isinstance(stored, str) else stored
        wanted = {str(w).strip(): "自定义" for w in listed or [] if str(w).strip()}
    ids = {name: i for i, name in enumerate(CATEGORIES, start=1)}
    rows, seen = [], set()
    for word, category in wanted.items():
        word = word[:32]
        if word.lower() not in seen:
            seen.add(word.lower())
            rows.append({"word": word, "lowered": word.lower(), "category_id": ids[category], "added_by": "migration",
                         "added_at": now})
    if rows:
        op.bulk_insert(words, rows)
    conn.execute(sa.text("DELETE FROM campaign_policies WHERE key = 'sensitive_words'"))
    if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequence past them
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('word_categories', 'id'), "
                             "(SELECT max(id) FROM word_categories))"))


def downgrade():
    conn = op.get_bind()
    listed = [w for (w,) in conn.execute(sa.text(
        "SELECT w.word FROM sensitive_words w JOIN word_categories c ON c.id = w.category_id "
        "WHERE c.enabled ORDER BY w.lowered LIMIT 2000"))]
    if listed:
        policies = sa.table("campaign_policies", sa.column("key", sa.String), sa.column("value", sa.JSON),
                            sa.column("updated_by", sa.String), sa.column("updated_at", sa.DateTime(timezone=True)))
        op.bulk_insert(policies, [{"key": "sensitive_words", "value": listed, "updated_by": "migration",
                                   "updated_at": datetime.now(timezone.utc)}])
    with op.batch_alter_table("sensitive_words") as batch:
        batch.drop_index(batch.f("ix_sensitive_words_category_id"))
    op.drop_table("sensitive_words")
    op.drop_table("word_categories")
