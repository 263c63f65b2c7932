"""Daily snapshots WeCom keeps only 180 days: each staff member's customer-contact behaviour and group statistics."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db


class BehaviorDay(db.Model):
    """get_user_behavior_data for one staff member and one corp-local day. The reply figures are None on days
    WeCom gave none (no replies that day): missing, never 0."""

    __tablename__ = "team_behavior_days"
    __table_args__ = (UniqueConstraint("userid", "day"), Index("ix_team_behavior_days_day", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    chat_cnt: Mapped[int] = mapped_column(default=0)
    message_cnt: Mapped[int] = mapped_column(default=0)
    reply_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    avg_reply_minutes: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    negative_feedback_cnt: Mapped[int] = mapped_column(default=0)  # customers who deleted or blocked the member
    new_apply_cnt: Mapped[int] = mapped_column(default=0)          # friend requests the member sent
    new_contact_cnt: Mapped[int] = mapped_column(default=0)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupDay(db.Model):
    """groupchat/statistic for the groups one staff member owns, one corp-local day (zeros when they own none)."""

    __tablename__ = "team_group_days"
    __table_args__ = (UniqueConstraint("owner", "day"), Index("ix_team_group_days_day", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    new_chat_cnt: Mapped[int] = mapped_column(default=0)
    chat_total: Mapped[int] = mapped_column(default=0)
    chat_has_msg: Mapped[int] = mapped_column(default=0)
    new_member_cnt: Mapped[int] = mapped_column(default=0)
    member_total: Mapped[int] = mapped_column(default=0)
    member_has_msg: Mapped[int] = mapped_column(default=0)
    msg_total: Mapped[int] = mapped_column(default=0)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
