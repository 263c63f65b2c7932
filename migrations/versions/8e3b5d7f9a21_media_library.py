"""media library: items (name, kind, size, type, sha256, uploader, WeCom media_id and expiry, image URL), their bytes

Revision ID: 8e3b5d7f9a21
Revises: 7d2a4c6e8f10
Create Date: 2026-12-05 09:10:00

The bytes live in the database (media_blobs), not on a disk: web and worker processes on other hosts must be able
to upload a file to WeCom again when its 3-day media_id runs out, without a shared filesystem.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e3b5d7f9a21'
down_revision = '7d2a4c6e8f10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "media_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("media_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("image_url", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("media_items") as batch:
        batch.create_index("ix_media_items_name", ["name"])
        batch.create_index("ix_media_items_kind", ["kind"])
        batch.create_index("ix_media_items_sha256", ["sha256"])
        batch.create_index("ix_media_items_media_expires_at", ["media_expires_at"])
    op.create_table(
        "media_blobs",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["media_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id"),
    )


def downgrade():
    op.drop_table("media_blobs")
    op.drop_table("media_items")
