"""The send engine's tables: sends (one per planned send of any origin), the delivery outbox, WeCom send tasks, outside
sends, opt-outs and the send policies. Table names keep their campaign_ prefix: pushes were the first sender."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.guards import bucket_of_hex


class RunStatus:
    """Where a send is: planned into the outbox, waiting for its window, dispatched, polled, final."""

    PLANNING = "planning"
    PLANNED = "planned"
    WAITING_WINDOW = "waiting_window"  # planned, quiet hours (or a later "when"): dispatch waits until not_before
    DISPATCHING = "dispatching"
    POLLING = "polling"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MISSED = "missed"                  # the scheduler was down past the misfire limit: recorded, never sent
    FINAL = (FINISHED, CANCELLED, FAILED, MISSED)
    COUNTED = (PLANNING, PLANNED, WAITING_WINDOW, DISPATCHING, POLLING)  # their planned rows count toward caps
    LABELS = {PLANNING: N_("规划中"), PLANNED: N_("已规划"), WAITING_WINDOW: N_("等待发送时段"),
              DISPATCHING: N_("发送中"), POLLING: N_("等待成员确认"), FINISHED: N_("已完成"),
              CANCELLED: N_("已取消"), FAILED: N_("失败"), MISSED: N_("已错过")}


class DeliveryStatus:
    PLANNED = "planned"
    SKIPPED = "skipped"
    HOLDOUT = "holdout"
    SUBMITTED = "submitted"
    SENT = "sent"
    FAILED = "failed"


class TaskStatus:
    PENDING = "pending"
    SUBMITTING = "submitting"  # add_msg_template in flight under a lease (claimed_until); see dispatch.py
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Send(db.Model):
    """One send of any origin: its channel, category, holdout key and variants (what), its state and counts.

    The origin ("why") is a subclass mapped on this table (single-table inheritance, `origin` says which), with
    its own columns: a campaign run (campaigns.models.CampaignRun), later a journey step or a referral task.
    A subclass may override `veto` (a reason not to send after all, asked when the send is cut into tasks),
    `withdrawn` (recipients to skip after all, asked then too) and `describe` (how the audit log names it)."""

    __tablename__ = "campaign_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))  # which subclass: the kind of originating object
    chat_type: Mapped[str] = mapped_column(String(8), default="single")
    category: Mapped[str] = mapped_column(String(16), default="promotion")
    holdout_key: Mapped[str | None] = mapped_column(String(64))
    holdout_percent: Mapped[int] = mapped_column(default=0)
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{key, percent, content}]
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.PLANNING, index=True)
    not_before: Mapped[datetime | None]  # quiet hours or "when": no task is submitted before this instant
    send_at: Mapped[datetime | None]  # when it was planned to go: its planned rows count toward caps from then
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    planned_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"polymorphic_on": "origin"}

    CANCEL_ACTION = "sending.cancelled"

    def veto(self) -> str | None:
        """Why this send must not go out after all (checked when it is cut into tasks), or None."""
        return None

    def withdrawn(self):
        """(skip reason, query of customer ids) of planned recipients who must not get it after all (asked when the
        send is cut into tasks: e.g. a customer who left a journey between planning and sending), or None."""
        return None

    def describe(self) -> str:
        return f"{self.origin} #{self.id}"

    def content_of(self, variant_key: str | None) -> dict:
        return next((v["content"] for v in self.variants or [] if v["key"] == variant_key), {})


class SendTask(db.Model):
    """One add_msg_template call: a sender's chunk (≤ 10,000) of one variant; its msgid and polling state."""

    __tablename__ = "campaign_send_tasks"
    __table_args__ = (UniqueConstraint("run_id", "sender_userid", "variant_key", "chunk_no",
                                       name="uq_campaign_send_tasks_chunk"),
                      Index("ix_campaign_send_tasks_submitted_at", "submitted_at"))  # team figures: tasks in a window

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id"))
    sender_userid: Mapped[str] = mapped_column(String(64))
    variant_key: Mapped[str] = mapped_column(String(8))
    chunk_no: Mapped[int] = mapped_column(default=0)
    # the variant's text and attachments as planned, fixed when the send is cut into tasks: every attempt and
    # every lookup of a lost answer uses them, whatever is edited later
    content: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PENDING, index=True)
    msgid: Mapped[str | None] = mapped_column(String(64), index=True)
    fail_list: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    remind_count: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]  # lease of the worker submitting it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(db.Model):
    """The outbox: one row per customer (or group) of a send, with why it was skipped or how it ended."""

    __tablename__ = "campaign_deliveries"
    # Few indexes on purpose: a send inserts a million rows at once. (run_id, status, sender) serves the claim and
    # the funnel; caps and quota read earlier sends' rows by send.
    __table_args__ = (UniqueConstraint("run_id", "target_key"),
                      Index("ix_campaign_deliveries_claim", "run_id", "status", "sender_userid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id"))  # the send
    target_key: Mapped[str] = mapped_column(String(64))  # external_userid, or chat_id for a group send
    customer_id: Mapped[int | None]
    sender_userid: Mapped[str | None] = mapped_column(String(64))
    variant_key: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    skip_reason: Mapped[str | None] = mapped_column(String(32))  # opt_out, lost, cap:<rule>, wecom_quota, ...
    # A personalised send's values for this recipient (canonical JSON, e.g. {"专属链接": url}), filled in when
    # planned: recipients with the same values share a send task, each distinct value is a task of its own
    personal: Mapped[str | None] = mapped_column(Text)
    fail_reason: Mapped[str | None] = mapped_column(String(32))  # not_friend, over_quota, error
    send_task_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_send_tasks.id"), index=True)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutsideSend(db.Model):
    """A mass message made outside the console (seen in get_groupmsg_list_v2): it counts toward the quotas."""

    __tablename__ = "campaign_outside_sends"
    __table_args__ = (UniqueConstraint("msgid", "target_key"),
                      Index("ix_campaign_outside_sends_target", "target_key", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    msgid: Mapped[str] = mapped_column(String(64))
    sender_userid: Mapped[str] = mapped_column(String(64))
    target_key: Mapped[str] = mapped_column(String(64))  # external_userid or chat_id
    chat_type: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerOptOut(db.Model):
    """A customer who asked not to be pushed to (免打扰): every send skips them with reason opt_out."""

    __tablename__ = "campaign_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SendPolicy(db.Model):
    """A policy the console edits, by key: the engine's (frequency caps, quiet hours) and the pushes' own."""

    __tablename__ = "campaign_policies"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Engine, "connect")
def _sqlite_bucket_functions(dbapi_connection, _record) -> None:
    """SQLite only: md5 and hex-to-bucket, which PostgreSQL has built in (the holdout and A/B draws, guards.bucket)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("campaign_md5", 1, lambda text: hashlib.md5(text.encode()).hexdigest(),
                                         deterministic=True)
        dbapi_connection.create_function("campaign_hex_bucket", 1, bucket_of_hex, deterministic=True)
