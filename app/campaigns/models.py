"""Pushes (群发): campaigns and variants, their runs (sends of the engine, app.sending), approvals, checks."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Send

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


class CampaignRun(Send):
    """One execution of a campaign at `scheduled_for` (unique per campaign: a run is never created twice): the send
    a campaign makes through the engine (app.sending), plus what the campaign pages show of it."""

    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str | None] = mapped_column(String(16), default="scheduled")  # scheduled, manual, test, dry
    scheduled_for: Mapped[datetime | None]
    campaign_version: Mapped[int | None]
    test_target: Mapped[dict[str, str] | None] = mapped_column(JSON)  # kind "test": sender and customer
    created_by: Mapped[str | None] = mapped_column(String(128))

    __mapper_args__ = {"polymorphic_identity": "campaign"}

    CANCEL_ACTION = "campaigns.run_cancelled"

    def veto(self) -> str | None:
        """Content is read when the run is cut into tasks: an edit after planning (or a withdrawn approval) must not go
        out unreviewed. A test send goes to one staff member's own customer, unapproved."""
        campaign = db.session.get(Campaign, self.campaign_id)
        if self.kind == "test" or (campaign.is_approved and campaign.version == self.campaign_version):
            return None
        return "活动在规划后被修改或未审批，本次未发送；请重新审批后再运行"

    def describe(self) -> str:
        return f"{db.session.scalar(select(Campaign.name).where(Campaign.id == self.campaign_id))} #{self.id}"


CampaignRun.__table__.append_constraint(UniqueConstraint("campaign_id", "scheduled_for",
                                                         name="uq_campaign_runs_campaign_id_scheduled_for"))


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
