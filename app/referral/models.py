"""Referral tasks (任务宝): the task, its ladder, inviters with their contact ways, credits, reward reservations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Send


class TaskStatus:
    DRAFT, SCHEDULED, RUNNING, PAUSED, ENDED = "draft", "scheduled", "running", "paused", "ended"


TASK_STATUS_LABELS = {TaskStatus.DRAFT: N_("草稿"), TaskStatus.SCHEDULED: N_("待开始"), TaskStatus.RUNNING: N_("进行中"),
                      TaskStatus.PAUSED: N_("已暂停"), TaskStatus.ENDED: N_("已结束")}
END_REASON_LABELS = {"time": N_("到期结束"), "stock": N_("奖品发完"), "manual": N_("手动结束")}


class ReferralTask(db.Model):
    """A referral task: who invites (a saved segment), who receives the invitees, the rules of counting."""

    __tablename__ = "referral_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.DRAFT, index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    segment_id: Mapped[int | None]  # the audience (a saved segment); no FK: the task outlives a deleted segment
    staff_userids: Mapped[list[str]] = mapped_column(JSON, default=list)  # one, or a rota
    daily_cap: Mapped[int | None]  # per rota member: new inviters' contact ways given to them a day
    backup_userid: Mapped[str | None] = mapped_column(String(64))  # when every rota member is at their cap
    hold_hours: Mapped[int] = mapped_column(default=168)
    burst_count: Mapped[int] = mapped_column(default=5)  # more than this many credits to one inviter ...
    burst_minutes: Mapped[int] = mapped_column(default=60)  # ... within this many minutes: flagged for review
    participant_tag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    invitee_tag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    welcome_template_id: Mapped[int | None] = mapped_column(ForeignKey("welcome_templates.id"))
    rules_text: Mapped[str] = mapped_column(Text, default="")
    milestone_text: Mapped[str] = mapped_column(Text, default="")  # to an inviter reaching a level ("": none)
    near_text: Mapped[str] = mapped_column(Text, default="")  # to an inviter one invite away from a level ("": none)
    poster_background: Mapped[bytes | None]  # PNG/JPEG; None: the built-in background
    ended_reason: Mapped[str | None] = mapped_column(String(16))  # time / stock / manual
    ended_at: Mapped[datetime | None]
    ways_deleted_at: Mapped[datetime | None]  # every inviter's contact way deleted in WeCom
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


ARM_A, ARM_B = "A", "B"  # a task's ladder, and the second ladder of an A/B test (inviters split 50/50)


class ClaimKind:
    CODE, LINK, STAFF = "code", "link", "staff"


CLAIM_LABELS = {ClaimKind.CODE: N_("兑换码（上传码池）"), ClaimKind.LINK: N_("领取链接"), ClaimKind.STAFF: N_("员工核销")}


class ReferralLevel(db.Model):
    """One rung of a task's ladder: invites needed, the reward, its stock and how it is claimed."""

    __tablename__ = "referral_levels"
    __table_args__ = (UniqueConstraint("task_id", "arm", "needed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("referral_tasks.id", ondelete="CASCADE"), index=True)
    arm: Mapped[str] = mapped_column(String(1), default=ARM_A, server_default=ARM_A)  # A; B when the task tests two
    needed: Mapped[int]  # valid invites needed
    reward: Mapped[str] = mapped_column(String(64))
    stock: Mapped[int]
    reserved: Mapped[int] = mapped_column(default=0)  # never above stock: a conditional UPDATE takes each unit
    claim_kind: Mapped[str] = mapped_column(String(8), default=ClaimKind.STAFF)
    claim_link: Mapped[str] = mapped_column(String(512), default="")
    cost_fen: Mapped[int] = mapped_column(default=0)  # what one unit costs the company (for cost per new customer)


class ReferralCode(db.Model):
    """A redemption code of a level's uploaded pool; taken by one reservation."""

    __tablename__ = "referral_codes"
    __table_args__ = (UniqueConstraint("level_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("referral_levels.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    reservation_id: Mapped[int | None] = mapped_column(unique=True)


class ReferralParticipant(db.Model):
    """An inviter in a task, with their personal contact way (its `state` names task and inviter)."""

    __tablename__ = "referral_participants"
    __table_args__ = (UniqueConstraint("task_id", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("referral_tasks.id", ondelete="CASCADE"), index=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(128), default="")
    userid: Mapped[str] = mapped_column(String(64))  # the staff member receiving this inviter's invitees
    state: Mapped[str | None] = mapped_column(String(30), unique=True)
    arm: Mapped[str] = mapped_column(String(1), default=ARM_A, server_default=ARM_A)  # the ladder they climb
    config_id: Mapped[str | None] = mapped_column(String(64))
    way_requested_at: Mapped[datetime | None]  # add_contact_way called, its answer not yet stored (reconcile.py)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    way_error: Mapped[str | None] = mapped_column(String(256))
    way_deleted_at: Mapped[datetime | None]
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    invited_by: Mapped[int | None]  # the participant whose invitee this inviter was (the chain, for the K-factor)
    tagged_at: Mapped[datetime | None]  # the task's participant tags marked through app/tags (or nothing to mark)


class CreditStatus:
    HELD, VALID, VOIDED, FLAGGED, REJECTED = "held", "valid", "voided", "flagged", "rejected"


CREDIT_STATUS_LABELS = {CreditStatus.HELD: N_("考察中"), CreditStatus.VALID: N_("有效"), CreditStatus.VOIDED: N_("已作废"),
                        CreditStatus.FLAGGED: N_("待审核"), CreditStatus.REJECTED: N_("不计入")}
REASON_LABELS = {
    "existing_customer": N_("老客户（企业已有此客户）"), "self_referral": N_("自己邀请自己"),
    "already_referred": N_("已被他人邀请"), "task_not_running": N_("任务未在进行"),
    "burst": N_("短时间内邀请过多"), "same_device": N_("与邀请人同一设备或 IP"),
    "customer_deleted": N_("考察期内客户删除了员工"), "staff_deleted": N_("考察期内员工删除了客户"),
    "review_rejected": N_("审核未通过"), "review_approved": N_("审核通过"), "partner": N_("企业微信用户，非新客"),
}


class ReferralCredit(db.Model):
    """One invitee's add through an inviter's contact way, once per callback event. `claim` and `claim_union`
    hold the invitee's external_userid and unionid while the credit counts (NULL when rejected): unique, so an
    invitee is credited once in the company, to the first referrer, whatever the concurrency."""

    __tablename__ = "referral_credits"
    __table_args__ = (Index("ix_referral_credits_status_hold", "status", "hold_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(unique=True)  # the add event: a second delivery writes nothing
    task_id: Mapped[int] = mapped_column(ForeignKey("referral_tasks.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("referral_participants.id", ondelete="CASCADE"),
                                                index=True)
    invitee: Mapped[str] = mapped_column(String(64), index=True)
    invitee_unionid: Mapped[str | None] = mapped_column(String(64))
    userid: Mapped[str] = mapped_column(String(64))
    claim: Mapped[str | None] = mapped_column(String(64), unique=True)
    claim_union: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    added_at: Mapped[datetime]  # when the invitee added the staff member (the event's CreateTime)
    hold_until: Mapped[datetime]
    decided_at: Mapped[datetime | None]  # valid, voided, or reviewed
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    review_note: Mapped[str] = mapped_column(String(256), default="")


class ReservationStatus:
    RESERVED, GIVEN, OUT_OF_STOCK = "reserved", "given", "out_of_stock"


RESERVATION_LABELS = {ReservationStatus.RESERVED: N_("待发放"), ReservationStatus.GIVEN: N_("已发放"),
                      ReservationStatus.OUT_OF_STOCK: N_("库存不足")}


class ReferralReservation(db.Model):
    """A reward reserved for an inviter who reached a level (or the record that its stock had run out)."""

    __tablename__ = "referral_reservations"
    __table_args__ = (UniqueConstraint("participant_id", "level_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("referral_tasks.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("referral_participants.id", ondelete="CASCADE"))
    level_id: Mapped[int] = mapped_column(ForeignKey("referral_levels.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(64))
    reserved_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_notice: Mapped[str] = mapped_column(String(256), default="")  # what the receiving staff member is told
    given_at: Mapped[datetime | None]
    given_by: Mapped[str | None] = mapped_column(String(64))


class LaunchStatus:
    COUNTING, PENDING, PLANNED, REJECTED, FAILED = "counting", "pending_approval", "planned", "rejected", "failed"


LAUNCH_STATUS_LABELS = {LaunchStatus.COUNTING: N_("计算人数中"), LaunchStatus.PENDING: N_("等待主管审批"),
                        LaunchStatus.PLANNED: N_("已安排发送"), LaunchStatus.REJECTED: N_("审批未通过"),
                        LaunchStatus.FAILED: N_("失败")}


class ReferralLaunch(db.Model):
    """One launch push of a task: 1:1 to the task's audience, each with their own progress link. A later launch
    of the same task reaches only members no launch reached (or held out) before."""

    __tablename__ = "referral_launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("referral_tasks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=LaunchStatus.COUNTING)
    text: Mapped[str] = mapped_column(Text, default="")
    link_title: Mapped[str] = mapped_column(String(64), default="")
    holdout_percent: Mapped[int] = mapped_column(default=0)
    recipients: Mapped[int | None]  # counted when planned (or when it waits for approval)
    send_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id"))
    requested_by: Mapped[str] = mapped_column(String(128), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128))  # the supervisor who approved or rejected
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str] = mapped_column(Text, default="")  # the supervisor's; required to reject
    error: Mapped[str | None] = mapped_column(Text)


class ReferralSend(Send):
    """A send of a referral task through the send engine: a launch, or a milestone message to one inviter.
    `referral_key` names it once (launch:<id>, ms:<inviter>:<level>:<reached|near>): never planned twice."""

    referral_task_id: Mapped[int | None] = mapped_column(ForeignKey("referral_tasks.id"))
    referral_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    __mapper_args__ = {"polymorphic_identity": "referral"}

    def veto(self) -> str | None:
        status = db.session.scalar(db.select(ReferralTask.status).where(ReferralTask.id == self.referral_task_id))
        if (self.referral_key or "").startswith("launch:") and status == TaskStatus.ENDED:
            return "任务宝任务已结束，推送未发送"
        return None

    def describe(self) -> str:
        name = db.session.scalar(db.select(ReferralTask.name).where(ReferralTask.id == self.referral_task_id))
        return f"{name} · {self.referral_key} #{self.id}"


class ReferralVisit(db.Model):
    """A device (IP and browser) a participant opened their progress page from: an invitee on the same device
    as their inviter has the credit flagged (review.py)."""

    __tablename__ = "referral_visits"
    __table_args__ = (UniqueConstraint("participant_id", "ip", "agent"),
                      Index("ix_referral_visits_device", "ip", "agent"))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("referral_participants.id", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(256))
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
