"""Daily snapshots WeCom keeps only 180 days: each staff member's customer-contact behaviour and group statistics."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, Index, Numeric, String, UniqueConstraint
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


# The roll-up (app/team/rollup.py): our own figures and the snapshots summed per staff member and corp-local day, and
# per selection of staff (the whole company, a department and below) and day, rebuilt nightly for complete days.
ROLLUP_SUMS = ("adds", "lost_by_customer", "lost_by_staff", "welcome_sent", "welcome_tried", "push_assigned",
               "push_on_time", "push_late", "push_never", "orders", "gmv_fen", "chats", "messages", "reply_chats",
               "reply_pct_chats", "reply_min_chats", "negative_feedback", "friend_requests", "new_contacts",
               "members_spoke", "members", "group_messages", "sla_due", "sla_on_time")
EXACT = Numeric(18, 2)  # reply sums are percentages and minutes (2 decimals) times chats: kept exact


def _sum_columns(cls):
    for name in ROLLUP_SUMS:
        setattr(cls, name, mapped_column(name, EXACT if name in ("reply_pct_chats", "reply_min_chats") else BigInteger,
                                         nullable=False, default=0))
    return cls


@_sum_columns
class StaffDay(db.Model):
    """The sums of one staff member on one complete corp-local day (orders: of the customers they follow(ed))."""

    __tablename__ = "team_staff_days"
    __table_args__ = (Index("ix_team_staff_days_day", "day"),)

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


@_sum_columns
class StaffRunning(db.Model):
    """Running totals of StaffDay over the roll-up's window, one row per member (with any figure in it) and day: a
    period's sums are two rows apart (the last day's minus the day before the first), whatever its length."""

    __tablename__ = "team_staff_running"
    __table_args__ = (Index("ix_team_staff_running_day", "day"),)

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


@_sum_columns
class SelectionDay(db.Model):
    """The sums of a selection of staff on one day, each order once however many of them follow its customer.
    key: "all" (every relation), or "dept:<id>" (the members with customer contact in that department and below)."""

    __tablename__ = "team_selection_days"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class SelectionMember(db.Model):
    """Who a selection held when the roll-up was built: a page whose selection differs (a member moved since) does not
    read that selection's rows."""

    __tablename__ = "team_selection_members"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), primary_key=True)


class RollupDay(db.Model):
    """A day the roll-up holds (days not here, today among them, are computed from the source tables)."""

    __tablename__ = "team_rollup_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


# Today's figures, summed by a job every minute (app/team/live.py) the same way as a complete day: the pages, exports
# and API read these rows (and say 截至 HH:MM) instead of each adding up the source tables again.


@_sum_columns
class LiveStaffDay(db.Model):
    """StaffDay of the day in progress, as of LiveDay.built_at."""

    __tablename__ = "team_live_staff_days"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


@_sum_columns
class LiveSelectionDay(db.Model):
    """SelectionDay of the day in progress (the selections' members as SelectionMember holds them)."""

    __tablename__ = "team_live_selection_days"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class LiveDay(db.Model):
    """The day the live rows are of, and when they were summed."""

    __tablename__ = "team_live_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class Weights(db.Model):
    """The ranking weights of one staff role (WeCom 职务; "" for every role without its own), in percent of 100:
    核心结果 / 过程执行 / 行为质量 (app/team/ranking.py says which figures fall in each class)."""

    __tablename__ = "team_weights"

    role: Mapped[str] = mapped_column(String(128), primary_key=True)
    core: Mapped[int] = mapped_column(default=60)
    process: Mapped[int] = mapped_column(default=30)
    behavior: Mapped[int] = mapped_column(default=10)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Target(db.Model):
    """A monthly target for one figure of a department (and below), a staff role or one staff member.
    Counts and money are for the whole month (compared pro rata to the days gone), rates are the rate itself."""

    __tablename__ = "team_targets"
    __table_args__ = (UniqueConstraint("month", "scope_kind", "scope_value", "figure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))          # YYYY-MM, corp-local
    scope_kind: Mapped[str] = mapped_column(String(16))    # department | role | staff
    scope_value: Mapped[str] = mapped_column(String(128))  # department id, role (职务) or userid
    figure: Mapped[str] = mapped_column(String(32))        # a figure key of app/team/figures.py
    value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(db.Model):
    """One breach of a rule (预警): opened the first run that sees it, closed the first run that no longer does; a
    later breach of the same thing is a new alert. `key` names the thing; at most one open alert per key."""

    __tablename__ = "team_alerts"
    __table_args__ = (Index("ix_team_alerts_key_open", "key", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(32))          # under_target | attainment_low | adds_drop
    level: Mapped[str] = mapped_column(String(8))          # red | amber
    scope_kind: Mapped[str] = mapped_column(String(16))    # department | staff
    scope_value: Mapped[str] = mapped_column(String(128))
    figure: Mapped[str] = mapped_column(String(32), default="")
    period: Mapped[str] = mapped_column(String(10))        # YYYY-MM (targets) or YYYY-MM-DD (a day's drop)
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # the figures and the breakdown that explain it
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()  # the supervisor's app message went out
    notify_error: Mapped[str] = mapped_column(String(300), default="")
