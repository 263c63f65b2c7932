"""Word categories (each enabled or not, with a revision that moves on every change) and the words in them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db


class WordCategory(db.Model):
    """A category (广告法极限词, 医疗, ...); its words block only while it is enabled. `revision` moves on every change
    of the category or its words, so every process knows when its cached matcher is stale."""

    __tablename__ = "word_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SensitiveWord(db.Model):
    """One word of the library (unique, compared case-insensitively: stored as typed, `lowered` is the key)."""

    __tablename__ = "sensitive_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(32))
    lowered: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("word_categories.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
