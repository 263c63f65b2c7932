"""follow relations: trigram GIN index on the digits of remark_mobiles (PostgreSQL), for the contact search by phone

Revision ID: 7d2a4c6e8f10
Revises: 6f1c9a2d4b37
Create Date: 2026-12-05 08:40:00

The index covers app.contacts.models.REMARK_MOBILE_DIGITS, the expression the contact list searches with: the
mobiles as digits and commas, so that 138 0013 8000, +86 13800138000 and the last four digits all find the number.
pg_trgm was created by 01e7e84b502b. On SQLite there is no index (a LIKE '%...%' scan cannot use one).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d2a4c6e8f10'
down_revision = '6f1c9a2d4b37'
branch_labels = None
depends_on = None

DIGITS = "regexp_replace(remark_mobiles::text, '[^0-9,]', '', 'g')"  # app.contacts.models.REMARK_MOBILE_DIGITS


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_follow_relations_remark_mobiles_trgm", "follow_relations",
                        [sa.text(f"{DIGITS} gin_trgm_ops")], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_follow_relations_remark_mobiles_trgm", table_name="follow_relations")
