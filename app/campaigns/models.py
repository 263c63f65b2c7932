"""Pushes (群发): campaigns and variants, runs, the delivery outbox, send tasks, outside sends, opt-outs, approvals,
checks."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from app.campaigns.guards import bucket_of_hex

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db

CATEGORY_LABELS = {"promotion": N_("促销"), "content": N_("内容"), "service": N_("服务通知")}
CHAT_TYPE_LABELS = {"single": N_("客户（一对一）"), "group": N_("客户群")}
SCHEDULE_LABELS = {"now": N_("立即"), "at": N_("定时"), "daily": N_("每天"), "weekly": N_("每周")}


class CampaignStatus:
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"        # approved, no run due yet ("now": the next scheduler tick starts it)
    SCHEDULED = "scheduled"      # approved, runs at its times
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    LABELS = {DRAFT: N_("草稿"), PENDING_APPROVAL: N_("待审批"), APPROVED: N_("已审批"), SCHEDULED: N_("已排期"),
              RUNNING: N_("执行中"), FINISHED: N_("已结束"), CANCELLED: N_("已取消")}


class RunStatus:
    PLANNING = "planning"
    PLANNED = "planned"
    WAITING_WINDOW = "waiting_window"  # planned, quiet hours: dispatch waits until not_before
    DISPATCHING = "dispatching"
    POLLING = "polling"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MISSED = "missed"                  # the scheduler was down past the misfire limit: recorded, never sent
    FINAL = (FINISHED, CANCELLED, FAILED, MISSED)
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


class Campaign(db.Model):
    """A push: what, to whom, when, from whom; `version` grows with every edit, approval is for one version."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16), default="promotion")
    chat_type: Mapped[str] = mapped_column(String(8), default="single")
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    audience_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ad-hoc rule (app/segments/rules.py)
    group_filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # owners, name_contains, chat_ids
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"text": ..., "attachments": [...]}
    holdout_percent: Mapped[int] = mapped_column(default=0)
    schedule_kind: Mapped[str] = mapped_column(String(8), default="now")
    run_at: Mapped[datetime | None]
    time_of_day: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", corp time, daily/weekly
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday .. 6 Sunday
    ends_on: Mapped[date | None] = mapped_column(Date)
    sender_userids: Mapped[list[str]] = mapped_column(JSON, default=list)
    sender_department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT, index=True)
    version: Mapped[int] = mapped_column(default=1)
    approved_version: Mapped[int | None]
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None]
    attribution_days: Mapped[int] = mapped_column(default=3)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_approved(self) -> bool:
        return self.approved_version is not None and self.approved_version == self.version


class CampaignVariant(db.Model):
    """An A/B variant: its own content for `split_percent` of the treated audience."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    key: Mapped[str] = mapped_column(String(8))
    split_percent: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CampaignRun(db.Model):
    """One execution of a campaign at `scheduled_for` (unique per campaign: a run is never created twice)."""

    __tablename__ = "campaign_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled, manual, test
    scheduled_for: Mapped[datetime]
    campaign_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.PLANNING, index=True)
    not_before: Mapped[datetime | None]  # quiet hours: no task is submitted before this instant
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    test_target: Mapped[dict[str, str] | None] = mapped_column(JSON)  # kind "test": sender and customer
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    planned_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class SendTask(db.Model):
    """One add_msg_template call: a sender's chunk (≤ 10,000) of one variant; its msgid and polling state."""

    __tablename__ = "campaign_send_tasks"
    __table_args__ = (UniqueConstraint("run_id", "sender_userid", "variant_key", "chunk_no",
                                       name="uq_campaign_send_tasks_chunk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id"))
    sender_userid: Mapped[str] = mapped_column(String(64))
    variant_key: Mapped[str] = mapped_column(String(8))
    chunk_no: Mapped[int] = mapped_column(default=0)
    # the variant's text and attachments as approved, fixed when the run is cut into tasks: every attempt and
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
    claimed_until: Mapped[datetime | None]  # lease of the worker submitting it (campaigns-exec)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(db.Model):
    """The outbox: one row per customer (or group) of a run, with why it was skipped or how it ended."""

    __tablename__ = "campaign_deliveries"
    # Few indexes on purpose: a run inserts a million rows at once. (run_id, status, sender) serves the claim and
    # the funnel; caps and quota read earlier runs' rows by run.
    __table_args__ = (UniqueConstraint("run_id", "target_key"),
                      Index("ix_campaign_deliveries_claim", "run_id", "status", "sender_userid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id"))
    target_key: Mapped[str] = mapped_column(String(64))  # external_userid, or chat_id for a group push
    customer_id: Mapped[int | None]
    sender_userid: Mapped[str | None] = mapped_column(String(64))
    variant_key: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    skip_reason: Mapped[str | None] = mapped_column(String(32))  # opt_out, lost, cap:<rule>, wecom_quota, ...
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
    """A customer who asked not to be pushed to (免打扰): every campaign skips them with reason opt_out."""

    __tablename__ = "campaign_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignApproval(db.Model):
    """The approval history: submitted, approved, rejected, auto-approved (under the threshold), per version."""

    __tablename__ = "campaign_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[int]
    decision: Mapped[str] = mapped_column(String(16))  # submitted, approved, rejected, auto_approved
    recipients: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the push as decided (editing.spec_of): for diffs
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignCheck(db.Model):
    """A dry run done off the web request: the preview page's numbers, or a submission waiting for its count."""

    __tablename__ = "campaign_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    campaign_version: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(16))  # preview, submit
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    requested_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict | None] = mapped_column(JSON)  # the Preview (preview.Preview.to_json)
    outcome: Mapped[str | None] = mapped_column(String(32))  # submit: pending_approval, auto_approved, refused
    error: Mapped[str | None] = mapped_column(Text)  # why the check or the submission did not go through


class CampaignPolicy(db.Model):
    """A push policy the console edits (frequency caps, quiet hours, sensitive words, approval threshold)."""

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
