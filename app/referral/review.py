"""The review queue: credits flagged (burst, same device or IP as the inviter) are approved or rejected, with
the reason, audited; visits to progress pages feed the same-device check."""
from __future__ import annotations

import functools

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.referral import rewards
from app.referral.models import CreditStatus, ReferralCredit, ReferralParticipant, ReferralVisit


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


@functools.cache
def _visit_upsert(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ReferralVisit.__table__)
    return statement.on_conflict_do_update(index_elements=["participant_id", "ip", "agent"],
                                           set_={"last_at": statement.excluded.last_at})


def note_visit(participant: ReferralParticipant, ip: str | None, agent: str | None) -> None:
    """Remember the device (IP and browser) the participant opened their page from. A held credit whose inviter and
    invitee have both opened their pages from one device is flagged (same_device), whichever of them came first;
    a credit a reviewer has approved is not flagged again. Inside the caller's transaction."""
    ip, agent = (ip or "")[:64], (agent or "")[:256]
    if not ip:
        return
    db.session.execute(_visit_upsert(db.engine.dialect.name),
                       dict(participant_id=participant.id, ip=ip, agent=agent, last_at=utcnow()))
    seen_here = select(ReferralVisit.participant_id).where(ReferralVisit.ip == ip, ReferralVisit.agent == agent)
    customers_here = select(ReferralParticipant.external_userid).where(ReferralParticipant.id.in_(seen_here))
    db.session.execute(update(ReferralCredit).where(
        ReferralCredit.status == CreditStatus.HELD, ReferralCredit.reviewed_by.is_(None),
        or_(and_(ReferralCredit.invitee == participant.external_userid, ReferralCredit.participant_id.in_(seen_here)),
            and_(ReferralCredit.participant_id == participant.id, ReferralCredit.invitee.in_(customers_here))),
    ).values(status=CreditStatus.FLAGGED, reason="same_device"))
