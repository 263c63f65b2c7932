"""follow relations: GIN index on tag_ids as jsonb (PostgreSQL), for the contact list's tag filter

Revision ID: 5b0c2f1e9a77
Revises: 3773663054dd
Create Date: 2026-11-23 13:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b0c2f1e9a77'
down_revision = '3773663054dd'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_follow_relations_tag_ids_gin", "follow_relations", [sa.text("(tag_ids::jsonb)")],
                        postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_follow_relations_tag_ids_gin", table_name="follow_relations")
