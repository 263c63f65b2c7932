"""Welcome templates, channels (contact ways with state), one record per customer add, group joins."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db

SCOPE_DEFAULT, SCOPE_STAFF, SCOPE_CHANNEL = "default", "staff", "channel"
SCOPE_REFERRAL = "referral"  # not a template's own scope: the welcome record says a referral task chose it
SCOPE_LABELS = {SCOPE_CHANNEL: N_("渠道"), SCOPE_STAFF: N_("员工"), SCOPE_DEFAULT: N_("默认")}
RECORD_SCOPE_LABELS = {SCOPE_REFERRAL: N_("任务宝"), **SCOPE_LABELS}  # what chose a sent welcome


class WelcomeTemplate(db.Model):
    """A welcome message: the default one, one for some staff members, or one that channels point to."""

    __tablename__ = "welcome_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16), index=True)
    userids: Mapped[list[str]] = mapped_column(JSON, default=list)  # scope "staff": whose adds it greets
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    # a group join code (群活码) whose QR image follows the attachments: the new customer is invited into its groups
    group_code_id: Mapped[int | None] = mapped_column(ForeignKey("community_join_codes.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Channel(db.Model):
    """A channel: a WeCom contact way (「联系我」 QR) whose `state` names it, with tags and a welcome template."""

    __tablename__ = "welcome_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    config_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str | None] = mapped_column(String(30), unique=True)  # None: the contact way has no state
    type: Mapped[int] = mapped_column(default=1)  # 1 one staff member, 2 several
    userids: Mapped[list[str]] = mapped_column(JSON, default=list)
    skip_verify: Mapped[bool] = mapped_column(default=True)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    tag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("welcome_templates.id"))
    source: Mapped[str] = mapped_column(String(16), default="console")  # "console" or "wecom" (imported)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outcome:
    SENDING = "sending"   # the call to WeCom is under way (or was cut off: then never retried)
    SENT = "sent"
    ALREADY = "already"   # 41051: WeCom already greeted the customer
    MISSED = "missed"     # 41050: the 20 seconds were over
    SKIPPED = "skipped"   # no WelcomeCode, or no template applies
    FAILED = "failed"


OUTCOME_LABELS = {
    Outcome.SENDING: N_("结果未知"), Outcome.SENT: N_("已发送"), Outcome.ALREADY: N_("已有欢迎语"),
    Outcome.MISSED: N_("超时错过"), Outcome.SKIPPED: N_("未发送"), Outcome.FAILED: N_("发送失败"),
}


class WelcomeRecord(db.Model):
    """What happened to the welcome of one customer add (one per inbox event and per WelcomeCode)."""

    __tablename__ = "welcome_records"
    __table_args__ = (Index("ix_welcome_records_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(unique=True)
    welcome_code: Mapped[str | None] = mapped_column(String(128), unique=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64), default="")
    channel_id: Mapped[int | None] = mapped_column(index=True)  # no FK: records outlive deleted channels
    template_id: Mapped[int | None]
    template_scope: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    errcode: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(256), default="")
    received_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    latency_ms: Mapped[int | None]  # from the console's receipt of the event to WeCom's answer
