"""A library item (name, kind, size, type, checksum, who uploaded it, its current WeCom media_id) and its bytes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db


class MediaItem(db.Model):
    """A file operators uploaded once; `media_id` is WeCom's id for it until `media_expires_at` (3 days)."""

    __tablename__ = "media_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # image / video / file (limits.KINDS)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    media_id: Mapped[str | None] = mapped_column(String(128))
    media_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    image_url: Mapped[str | None] = mapped_column(String(512))  # images: permanent URL from media/uploadimg


class MediaBlob(db.Model):
    """The bytes of an item, in the database: every web and worker host can re-upload it without shared disks."""

    __tablename__ = "media_blobs"

    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
