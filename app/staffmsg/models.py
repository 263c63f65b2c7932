"""Staff app messages (应用消息) waiting, sent or given up: one row per member and purpose, the outbox of message/send."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db

QUEUED, SENT, INVALID_USER, FAILED = "queued", "sent", "invalid_user", "failed"
KINDS = ("text", "textcard", "markdown")


class StaffMessage(db.Model):
    """One app message to one staff member. `purpose_key` makes it idempotent: asking twice for the same purpose
    (e.g. "task:12:reminder") keeps the first row. `state` queued until WeCom took it (sent), refused the member
    (invalid_user: unknown or outside the app's range), or failed for good (failed, with `error`)."""

    __tablename__ = "staff_messages"
    __table_args__ = (Index("ix_staff_messages_state_not_before", "state", "not_before"),
                      Index("ix_staff_messages_userid_sent_at", "userid", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose_key: Mapped[str] = mapped_column(String(191), unique=True)
    feature: Mapped[str] = mapped_column(String(32), default="")   # who asked: tasks, team.alerts, referral ...
    userid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="textcard")
    title: Mapped[str] = mapped_column(String(128), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(1024), default="")    # console path or absolute URL (textcard)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    msgid: Mapped[str] = mapped_column(String(128), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
