"""The review queue: credits flagged (burst, same device or IP as the inviter) are approved or rejected, with
the reason, audited; visits to progress pages feed the same-device check."""
from __future__ import annotations

from sqlalchemy import select, update

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.referral import rewards
from app.referral.models import CreditStatus, ReferralCredit, ReferralParticipant


class ReviewInvalid(ValueError):
    pass


def flagged(task_id: int) -> list[ReferralCredit]:
    return db.session.scalars(select(ReferralCredit).where(ReferralCredit.task_id == task_id,
                                                           ReferralCredit.status == CreditStatus.FLAGGED)
                              .order_by(ReferralCredit.added_at)).all()


def decide(credit_id: int, approve: bool, note: str, reviewer: str) -> ReferralCredit:
    """Approve (held until its hold ends, valid when it has ended: levels may be reached) or reject (void) a
    flagged credit. A credit no longer flagged (decided by someone else, voided by a deletion) is refused."""
    note = (note or "").strip()
    if not note or len(note) > 256:
        raise ReviewInvalid(N_("请填写审核理由（最多 256 个字）"))
    with transaction():
        credit = db.session.get(ReferralCredit, credit_id)
        if credit is None:
            raise ReviewInvalid(N_("这条邀请记录不存在"))
        db.session.execute(select(ReferralParticipant.id).where(ReferralParticipant.id == credit.participant_id)
                           .with_for_update())
        db.session.refresh(credit)
        if credit.status != CreditStatus.FLAGGED:
            raise ReviewInvalid(N_("这条邀请已经处理过了"))
        now = utcnow()
        if approve:
            credit.status = CreditStatus.VALID if credit.hold_until <= now else CreditStatus.HELD
        else:
            credit.status = CreditStatus.VOIDED
        credit.reviewed_by, credit.review_note, credit.decided_at = reviewer, note, now
        db.session.flush()
        if credit.status == CreditStatus.VALID:
            rewards.reach_levels(credit.participant_id)
        record("referral.credit_reviewed", target=credit.invitee,
               details={"task": credit.task_id, "approved": approve, "flag": credit.reason, "note": note})
    return credit


def note_visit(participant: ReferralParticipant, ip: str | None, agent: str | None) -> None:
    """Remember where the inviter opened their page; an invitee opening theirs from the inviter's device and IP
    gets their held credit flagged (same_device). Inside the caller's transaction."""
    participant.last_ip, participant.last_agent = (ip or "")[:64] or None, (agent or "")[:256] or None
    if not participant.last_ip:
        return
    inviters = select(ReferralParticipant.id).where(ReferralParticipant.last_ip == participant.last_ip,
                                                    ReferralParticipant.last_agent == participant.last_agent,
                                                    ReferralParticipant.id != participant.id)
    db.session.execute(update(ReferralCredit).where(
        ReferralCredit.invitee == participant.external_userid, ReferralCredit.status == CreditStatus.HELD,
        ReferralCredit.participant_id.in_(inviters)).values(status=CreditStatus.FLAGGED, reason="same_device"))
