"""Join codes (群活码), group welcome templates (入群欢迎语), group tiers, invitations into a tier's groups, and
group health per day (群活跃度)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Send

TIER_VIP, TIER_REGULAR, TIER_NEWCOMER = "vip", "regular", "newcomer"
TIERS = {TIER_VIP: N_("VIP 群"), TIER_REGULAR: N_("普通群"), TIER_NEWCOMER: N_("新人群")}


class JoinCode(db.Model):
    """A WeCom 「加入群聊」 config (群活码): up to 5 groups behind one QR code that never changes, a `state` naming the
    store or channel, and a new numbered group opened by WeCom when all are full."""

    __tablename__ = "community_join_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    config_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(30), unique=True)
    chat_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # the operator's choice (≤ 5), in order
    wecom_chat_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # as WeCom last showed them (+ opened)
    auto_create_room: Mapped[bool] = mapped_column(default=True)
    room_base_name: Mapped[str] = mapped_column(String(40), default="")
    room_base_id: Mapped[int] = mapped_column(default=1)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    tier: Mapped[str | None] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]  # last get_join_way

    def all_chat_ids(self) -> list[str]:
        return list(dict.fromkeys([*self.chat_ids, *(self.wecom_chat_ids or [])]))

    def qr_attachments(self) -> list[dict[str, Any]]:
        """The code's QR image as a message attachment (its permanent URL: the code never changes); none without one.
        The QR goes as an image, not a link: a customer long-presses it in WeChat to join (a link would open the bare
        image in a browser)."""
        return [{"msgtype": "image", "image": {"pic_url": self.qr_code}}] if self.qr_code else []


class GroupTier(db.Model):
    """A customer group's tier (VIP / 普通 / 新人), set by the community manager."""

    __tablename__ = "community_group_tiers"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupWelcome(db.Model):
    """An 入群欢迎语 template kept in WeCom (`template_id`); owners pick it for their groups in the client."""

    __tablename__ = "community_group_welcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # at most one, from the library
    tier: Mapped[str | None] = mapped_column(String(16))
    notify: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(db.Model):
    """标签建群: customers of a segment or tag invited 1:1 by their staff with a tier's join code; a second reminder
    after `remind_after_days` to those who did not join."""

    __tablename__ = "community_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    join_code_id: Mapped[int] = mapped_column(ForeignKey("community_join_codes.id"))
    segment_id: Mapped[int | None]
    tag_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    reminder_text: Mapped[str] = mapped_column(Text, default="")
    remind_after_days: Mapped[int] = mapped_column(default=3)
    # planning, pending_approval (above the push approval threshold), sent, reminded, rejected, failed
    status: Mapped[str] = mapped_column(String(16), default="planning")
    error: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[int | None]  # the audience counted for the approval threshold
    approved_by: Mapped[str | None] = mapped_column(String(128))  # a supervisor, or "system" at or below the threshold
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_send_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id"))
    reminder_send_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id"))
    reminded_at: Mapped[datetime | None]


class InvitationSend(Send):
    """The first invitation or its reminder, sent through the send engine (app.sending); the invitation names it."""

    __mapper_args__ = {"polymorphic_identity": "community_invite"}

    def describe(self) -> str:
        name = db.session.scalar(select(Invitation.name).where(
            (Invitation.first_send_id == self.id) | (Invitation.reminder_send_id == self.id)))
        return f"{name} #{self.id}"


class GroupHealth(db.Model):
    """One customer group's activity figures and health score (app/community/health.py) as of a corp-local day,
    kept per day for the trend. Leaves by scene come from our callbacks; leaves they missed (seen by a sync) count
    in `leaves_30d` only."""

    __tablename__ = "community_group_health"
    __table_args__ = (Index("ix_community_group_health_day_score", "day", "score"),
                      Index("ix_community_group_health_day_silent", "day", "silent"))

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    members: Mapped[int] = mapped_column(default=0)
    joins_7d: Mapped[int] = mapped_column(default=0)
    joins_30d: Mapped[int] = mapped_column(default=0)
    joins_by_qr_30d: Mapped[int] = mapped_column(default=0)        # join_scene 3: scanned the group QR code
    leaves_7d: Mapped[int] = mapped_column(default=0)
    leaves_30d: Mapped[int] = mapped_column(default=0)
    left_self_30d: Mapped[int] = mapped_column(default=0)          # QuitScene 0
    removed_30d: Mapped[int] = mapped_column(default=0)            # QuitScene 1: removed by owner or admin
    retention_eligible: Mapped[int] = mapped_column(default=0)
    retention_kept: Mapped[int] = mapped_column(default=0)
    silent: Mapped[int | None]                                     # health.SILENT / NOT_SILENT / None: unknown
    activity: Mapped[int | None]                                   # the parts, 0–100, None without data
    growth: Mapped[int | None]
    retention: Mapped[int | None]
    leave: Mapped[int | None]
    score: Mapped[int | None]


class OwnerHealth(db.Model):
    """A group owner's figures over the 7 days ending `day` (groupchat/statistic, stored by the team snapshot) and
    the health score of their groups."""

    __tablename__ = "community_owner_health"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    groups: Mapped[int] = mapped_column(default=0)
    members: Mapped[int] = mapped_column(default=0)
    new_members_7d: Mapped[int] = mapped_column(default=0)
    leaves_7d: Mapped[int] = mapped_column(default=0)
    spoke_7d: Mapped[int] = mapped_column(default=0)    # members who spoke, summed over the days
    member_days_7d: Mapped[int] = mapped_column(default=0)  # members, summed over the days
    messages_7d: Mapped[int] = mapped_column(default=0)
    silent_at_least: Mapped[int | None]
    score: Mapped[int | None]
