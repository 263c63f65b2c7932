"""Journeys' tables: the journey and its versions, the customers in it (entries), what each step did, its sends."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Send


class JourneyStatus:
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"
    LABELS = {DRAFT: N_("草稿"), PENDING_APPROVAL: N_("待审批"), ACTIVE: N_("运行中"), PAUSED: N_("已暂停"),
              ARCHIVED: N_("已归档")}


class EntryStatus:
    ACTIVE = "active"
    EXITED = "exited"        # a signal moved the customer out (exit_reason says which)
    COMPLETED = "completed"  # walked the whole timeline, or a condition ended it


class Journey(db.Model):
    """A journey: `draft` is what the editor changes, `live` the approved spec that runs (version `live_version`).
    Editing never touches `live`: a new version runs only once approved."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default=JourneyStatus.DRAFT, index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)          # the draft's version, grows with every saved edit
    live: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    live_version: Mapped[int | None]
    pending_version: Mapped[int | None]                       # submitted for approval, not yet decided
    paused_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]                       # first activation: triggers look from here on
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)  # stage trigger: the last movement id read
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def holdout_key(self) -> str:
        """The engine's holdout seed: stable per journey, across its versions."""
        return f"journey:{self.id}"


class JourneyVersion(db.Model):
    """The version history: each saved draft, submitted, approved, rejected or paused/resumed, with the spec."""

    __tablename__ = "journey_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"), index=True)
    version: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))  # saved, submitted, approved, rejected, paused, resumed
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class JourneyEntry(db.Model):
    """A customer in a journey: at which step, due when. At most one active entry per customer and journey (a
    partial unique index); `held` is the journey's stable holdout draw, made at entry."""

    __tablename__ = "journey_entries"
    __table_args__ = (
        Index("uq_journey_entries_active", "journey_id", "customer_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        Index("ix_journey_entries_due", "journey_id", "status", "step_index", "due_at"),
        Index("ix_journey_entries_customer", "external_userid", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    external_userid: Mapped[str] = mapped_column(String(64))
    owner_userid: Mapped[str | None] = mapped_column(String(64))  # the staff member of the customer's newest relation
    version: Mapped[int]                                            # the live version it entered under
    held: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=EntryStatus.ACTIVE)
    step_index: Mapped[int] = mapped_column(default=0)              # the next step to run
    due_at: Mapped[datetime]
    entered_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(32))


class JourneyStepLog(db.Model):
    """What one step did for one entry, written with the entry's advance: once per (entry, step identity), never
    twice, whatever position later versions give the step (`step_index` is its position when it ran). A wait is
    logged when it begins (`at`, the time its wait is measured from) with when it ends (`due_at`): a new version
    continues it from there (versions.carry) instead of starting it again."""

    __tablename__ = "journey_step_logs"
    __table_args__ = (UniqueConstraint("entry_id", "step_id"), Index("ix_journey_step_logs_send", "send_id"),
                      Index("ix_journey_step_logs_journey", "journey_id", "step_id", "outcome"))

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journey_entries.id"))
    step_index: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(16))  # spec.step_ids: the step's identity across versions
    outcome: Mapped[str] = mapped_column(String(16))  # message, task, notify, tag, wait, skipped, held
    send_id: Mapped[int | None]
    task_ref: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    due_at: Mapped[datetime | None]                   # a wait: when it ends


class JourneyTagMark(db.Model):
    """A tag step's mark owed to one customer (every current relation): sent to WeCom by the job `journeys.tags`
    through app/tags/marking, retried while WeCom is busy, `failed` with WeCom's error (shown on the results) when
    refused; relations already carrying the change are not marked again. The entry moved on when it was written."""

    __tablename__ = "journey_tag_marks"
    __table_args__ = (UniqueConstraint("entry_id", "step_id"), Index("ix_journey_tag_marks_state", "state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journey_entries.id"))
    step_id: Mapped[str] = mapped_column(String(16))
    external_userid: Mapped[str] = mapped_column(String(64))
    tag_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))   # add, remove
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending, done, failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JourneySend(Send):
    """A message step's send at one time slot: the engine batches it per staff member into add_msg_template tasks.
    Before cutting it into tasks the engine asks `veto` (journey paused or archived) and `withdrawn`
    (customers who left the journey since planning: an order between planning and sending means no message)."""

    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id"))
    journey_step: Mapped[int | None]
    journey_slot: Mapped[datetime | None]
    journey_version: Mapped[int | None]

    __mapper_args__ = {"polymorphic_identity": "journey"}

    def veto(self) -> str | None:
        journey = db.session.get(Journey, self.journey_id)
        if journey.status != JourneyStatus.ACTIVE:
            return "旅程已暂停或归档，本次未发送"
        return None  # the content was fixed from an approved version when planned

    def withdrawn(self):
        """("journey_exit", customer ids of this send who left the journey since planning or gave an exit signal
        (a journey walked to its end keeps its last message)."""
        from app.journeys import exits

        logs = select(JourneyStepLog.entry_id).where(JourneyStepLog.send_id == self.id)
        gone = (select(JourneyEntry.customer_id)
                .where(JourneyEntry.id.in_(logs),
                       or_(JourneyEntry.status == EntryStatus.EXITED,
                           exits.signalled(db.session.get(Journey, self.journey_id).live or {}))))
        return "journey_exit", gone

    def describe(self) -> str:
        name = db.session.scalar(select(Journey.name).where(Journey.id == self.journey_id))
        return f"{name} #{self.id}"


JourneySend.__table__.append_constraint(UniqueConstraint("journey_id", "journey_step", "journey_slot",
                                                         name="uq_campaign_runs_journey_slot"))
