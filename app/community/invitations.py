"""标签建群: invite a segment's or a tag's customers into a tier's groups, 1:1 from their own staff member through the
send engine, with the tier's join code; who joined is read from the members' state; one reminder after N days goes
only to those who did not join. No API adds a customer to a group (wecom-api.md §13): the code is the way in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select

from app import jobs, sending
from app.campaigns.policy import policies
from app.contacts.models import Customer, CustomerGroupMember
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.community.models import TIERS, Invitation, InvitationSend, JoinCode
from app.segments import service as segments
from app.sending.models import Delivery, DeliveryStatus as D
from app.tags.models import CorpTag

CATEGORY = "service"
PLANNING, PENDING_APPROVAL = "planning", "pending_approval"
AUTO_APPROVER = "system"
MAX_TEXT = 1000
INVITED = (D.PLANNED, D.SUBMITTED, D.SENT)  # deliveries that invite (skipped, held out or failed ones do not)


class InvitationInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors  # field -> msgid
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass
class InvitationInput:
    name: str
    tier: str
    join_code_id: int | None
    segment_id: int | None
    tag_id: str | None
    text: str
    reminder_text: str
    remind_after_days: int | None = 3


def _validate(data: InvitationInput) -> None:
    errors: dict[str, str] = {}
    if not data.name.strip() or len(data.name) > 64:
        errors["name"] = N_("请填写名称（最多 64 个字）")
    if data.tier not in TIERS:
        errors["tier"] = N_("请选择群分层")
    code = db.session.get(JoinCode, data.join_code_id) if data.join_code_id else None
    if code is None:
        errors["join_code_id"] = N_("请选择这一层的群活码")
    elif code.tier != data.tier:
        errors["join_code_id"] = N_("这个群活码不属于所选分层：请在群活码里设置分层，或换一个")
    if bool(data.segment_id) == bool(data.tag_id):
        errors["audience"] = N_("请选择一个人群或一个标签（二选一）")
    elif data.segment_id and segments.get_segment(data.segment_id) is None:
        errors["audience"] = N_("人群不存在")
    elif data.tag_id and not db.session.scalar(select(CorpTag.id).where(CorpTag.tag_id == data.tag_id,
                                                                         CorpTag.deleted_at.is_(None))):
        errors["audience"] = N_("标签不存在或已删除")
    for key, text in (("text", data.text), ("reminder_text", data.reminder_text)):
        if not text.strip() or len(text) > MAX_TEXT:
            errors[key] = N_("请填写消息文字（最多 1000 个字）")
    if data.remind_after_days is None or not 1 <= data.remind_after_days <= 30:
        errors["remind_after_days"] = N_("提醒间隔须为 1 到 30 天")
    if errors:
        raise InvitationInvalid(errors)


def create(data: InvitationInput, actor: str) -> Invitation:
    """Keep the invitation; the first send is planned by the job `community.invite` (off the web thread)."""
    _validate(data)
    with transaction():
        invitation = Invitation(name=data.name.strip(), tier=data.tier, join_code_id=data.join_code_id,
                                segment_id=data.segment_id or None, tag_id=data.tag_id or None, text=data.text.strip(),
                                reminder_text=data.reminder_text.strip(), remind_after_days=data.remind_after_days,
                                created_by=actor)
        db.session.add(invitation)
        db.session.flush()
        record("community.invitation_created", target=f"{invitation.name}#{invitation.id}",
               details={"tier": invitation.tier, "segment_id": invitation.segment_id, "tag_id": invitation.tag_id})
    jobs.enqueue("community.invite", {"invitation_id": invitation.id}, requested_by=actor)
    return invitation


def _audience_rule(invitation: Invitation) -> dict:
    if invitation.segment_id:
        segment = segments.get_segment(invitation.segment_id)
        if segment is None:
            raise ValueError("人群已不存在")
        return segment.rule
    return {"op": "and", "rules": [{"field": "tags", "operator": "any", "value": [invitation.tag_id]}]}


def _content(text: str, code: JoinCode) -> dict:
    """The message: the text, then the code's QR image."""
    return {"text": text, "attachments": code.qr_attachments()}


def joined_filter(code: JoinCode, external_userid):
    """Whether the customer joined through the code: a member (now or before) with its state, or of its groups."""
    return exists().where(CustomerGroupMember.userid == external_userid,
                          or_(CustomerGroupMember.state == code.state,
                              CustomerGroupMember.chat_id.in_(code.all_chat_ids())))


def _plan(invitation: Invitation, who, text: str, round_no: int, now: datetime) -> InvitationSend:
    code = db.session.get(JoinCode, invitation.join_code_id)
    send = InvitationSend()
    db.session.add(send)
    sending.plan(send, sending.Request(who=sending.customers(who), what=(sending.Variant("A", 100, _content(text, code)),),
                                       category=CATEGORY, holdout_key=f"invite-{invitation.id}-{round_no}"), now)
    return send


def run_invite(invitation_id: int) -> None:
    """The job: plan the first send (1:1, each customer from the staff member of their latest relation); a planned
    invitation is left alone (never twice). Like every push (design.md: supervisors approve large sends), an
    audience above the approval threshold waits for a supervisor (invitation_review); at or below it the
    invitation is approved by the system. A segment deleted meanwhile fails the invitation with the reason."""
    try:
        with transaction():
            invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id).with_for_update())
            if invitation is None or invitation.first_send_id is not None or invitation.status != PLANNING:
                return
            who = segments.member_ids(_audience_rule(invitation))
            now = utcnow()
            if invitation.approved_by is None:
                invitation.recipients = db.session.scalar(select(func.count()).select_from(who.subquery()))
                threshold = policies.current().approval_threshold
                if invitation.recipients > threshold:
                    invitation.status = PENDING_APPROVAL
                    record("community.invitation_submitted", target=f"{invitation.name}#{invitation.id}",
                           details={"recipients": invitation.recipients, "threshold": threshold})
                    return
                invitation.approved_by, invitation.decided_at = AUTO_APPROVER, now
                invitation.decision_comment = f"≤ {threshold}"
            send = _plan(invitation, who, invitation.text, 1, now)
            invitation.first_send_id, invitation.status = send.id, "sent"
    except (ValueError, segments.RuleError) as exc:
        with transaction():
            invitation = db.session.get(Invitation, invitation_id)
            invitation.status, invitation.error = "failed", str(exc)


def not_joined(invitation: Invitation):
    """SELECT customer_id of those the first send invited who have not joined through the code."""
    code = db.session.get(JoinCode, invitation.join_code_id)
    return (select(Delivery.customer_id.label("customer_id"))
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Delivery.run_id == invitation.first_send_id, Delivery.status.in_(INVITED),
                   ~joined_filter(code, Customer.external_userid)))


def remind(invitation_id: int, now: datetime | None = None) -> bool:
    """Plan the reminder of one invitation whose time has come, to those who did not join; once."""
    now = now or utcnow()
    with transaction():
        invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id).with_for_update())
        sent_at = (invitation.decided_at or invitation.created_at) if invitation else None  # after a wait for approval
        if (invitation is None or invitation.status != "sent" or invitation.reminder_send_id is not None
                or sent_at + timedelta(days=invitation.remind_after_days) > now):
            return False
        send = _plan(invitation, not_joined(invitation), invitation.reminder_text, 2, now)
        invitation.reminder_send_id, invitation.status, invitation.reminded_at = send.id, "reminded", now
    return True


def remind_due(now: datetime | None = None) -> int:
    """The periodic job: plan every reminder that is due."""
    now = now or utcnow()
    due = db.session.scalars(select(Invitation.id).where(Invitation.status == "sent",
                                                         Invitation.reminder_send_id.is_(None))).all()
    return sum(remind(i, now) for i in due)
