"""Joining on first open: a customer's link (the launch push, the invitee's welcome) makes them an inviter of the task
the first time they open it, not before. Contact ways count against the corp's 500,000 quota and most recipients of a
push never open it: only those who do get a way (the next tick makes it), and only they count as participants."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.db import transaction
from app.extensions import db
from app.referral import credits, service
from app.referral.models import CreditStatus, ReferralCredit, ReferralParticipant, ReferralTask, TaskStatus

LIVE = (TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.PAUSED)


def participant(task_id: int, external_userid: str) -> ReferralParticipant | None:
    return db.session.scalar(select(ReferralParticipant).where(ReferralParticipant.task_id == task_id,
                                                               ReferralParticipant.external_userid == external_userid))


def _inviter_of(task_id: int, external_userid: str) -> int | None:
    """The inviter whose invitee this customer was in the task (the credit that counts), for the chain."""
    return db.session.scalar(select(ReferralCredit.participant_id).where(
        ReferralCredit.task_id == task_id, ReferralCredit.invitee == external_userid,
        ReferralCredit.status.in_(credits.COUNTED + (CreditStatus.VOIDED,))).order_by(ReferralCredit.id).limit(1))


def on_open(task_id: int, external_userid: str) -> ReferralParticipant | None:
    """The customer's participation in the task, joining them now if the task is live; None when they never joined
    and the task is not live (ended, or still a draft)."""
    found = participant(task_id, external_userid)
    if found is not None:
        return found
    task = db.session.get(ReferralTask, task_id)
    if task is None or task.status not in LIVE:
        return None
    try:
        with transaction():
            joined = service.join(task, external_userid, invited_by=_inviter_of(task_id, external_userid))
        return joined
    except IntegrityError:  # opened twice at once: the other open joined them
        db.session.rollback()
        return participant(task_id, external_userid)
