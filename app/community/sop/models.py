"""群SOP tables: an SOP for one tier (plus groups added by hand), its items (content, kind, recurrence), each planned
occurrence, and its send."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Send

PUSH, TASK = "push", "task"
KINDS = {PUSH: N_("群发到群"), TASK: N_("群主任务")}


class GroupSop(db.Model):
    """A calendar of items for the groups of one tier. Paused: nothing is planned; on resume, due times from the
    pause are not made up for (`active_since`)."""

    __tablename__ = "community_sops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16), index=True)
    template_key: Mapped[str | None] = mapped_column(String(32))  # the built-in template it started from
    paused: Mapped[bool] = mapped_column(default=False)
    active_since: Mapped[datetime] = mapped_column(default=utcnow)  # due times before this are never planned
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SopGroup(db.Model):
    """A group added to an SOP by hand (group list → 应用SOP): reached besides the tier's groups, once either way."""

    __tablename__ = "community_sop_groups"

    sop_id: Mapped[int] = mapped_column(ForeignKey("community_sops.id"), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(128), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SopItem(db.Model):
    """One calendar item: a group push (each group's owner confirms in WeCom) or a task for each owner, at a time of
    day with a recurrence (recurrence.Recurrence). `plan_from`: a changed schedule applies from the change on."""

    __tablename__ = "community_sop_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("community_sops.id"), index=True)
    title: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default=PUSH)
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # media-library references
    time_of_day: Mapped[str] = mapped_column(String(5))  # "HH:MM", corp time
    recurrence: Mapped[str] = mapped_column(String(8), default="once")  # once, daily, weekly, monthly, every
    start_on: Mapped[date] = mapped_column(Date)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # weekly: 0 Monday .. 6 Sunday
    month_day: Mapped[int | None]  # monthly: 1..31 (the month's last day when it has fewer)
    every_days: Mapped[int | None]  # every: N days apart ...
    times: Mapped[int | None]  # ... M times (also ends daily/weekly/monthly when given)
    plan_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OccurrenceStatus:
    PLANNED = "planned"   # push: its send is planned (the send says how it went); task: tasks created
    MISSED = "missed"     # the planner ran too late (down): recorded, never sent late
    FAILED = "failed"     # could not be planned (no group in the tier ...): `error` says why
    LABELS = {PLANNED: N_("已安排"), MISSED: N_("已错过"), FAILED: N_("未能安排")}


class SopOccurrence(db.Model):
    """One due time of one item, planned once (unique item + due time) by the worker's planner."""

    __tablename__ = "community_sop_occurrences"
    __table_args__ = (UniqueConstraint("item_id", "due_at", name="uq_community_sop_occurrences_item_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("community_sop_items.id"), index=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("community_sops.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=OccurrenceStatus.PLANNED)
    send_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id"))
    owners: Mapped[list[str]] = mapped_column(JSON, default=list)  # task kind: who got a task
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SopSend(Send):
    """An occurrence's group push, sent through the send engine (app.sending); the occurrence names it."""

    __mapper_args__ = {"polymorphic_identity": "community_sop"}

    def _occurrence(self) -> SopOccurrence | None:
        return db.session.scalar(select(SopOccurrence).where(SopOccurrence.send_id == self.id))

    def veto(self) -> str | None:
        """An SOP paused between planning and sending does not send."""
        occurrence = self._occurrence()
        sop = db.session.get(GroupSop, occurrence.sop_id) if occurrence else None
        return "群SOP 已暂停，本次未发送" if sop is not None and sop.paused else None

    def describe(self) -> str:
        occurrence = self._occurrence()
        item = db.session.get(SopItem, occurrence.item_id) if occurrence else None
        return f"群SOP「{item.title if item else '?'}」 #{self.id}"
