"""Credits on callbacks: an add through an inviter's contact way is credited once (held, checked, flagged), a
deletion inside the hold voids it; held credits become valid when the hold ends and may reach ladder levels."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.contacts.customers import ENDED_BY_CUSTOMER
from app.contacts.merge import from_epoch
from app.contacts.models import Customer, FollowRelation
from app.core.db import utcnow
from app.extensions import db
from app.referral import rewards
from app.tags import marking
from app.referral.models import (CreditStatus, ReferralCredit, ReferralParticipant, ReferralTask, TaskStatus)
from app.referral.rules import is_burst, parse_state
from app.wecom.connection import gateway
from app.wecom.errors import WeComNotFriend
from app.wecom.handlers import Payload

TRANSFER = "DELETE_BY_TRANSFER"  # a handover ends the old relation: no deletion by either side
SAME_ADD = timedelta(seconds=10)  # a relation added this close to the event is the event's own add (a sync was first)
COUNTED = (CreditStatus.HELD, CreditStatus.VALID, CreditStatus.FLAGGED)
_CREDITS = ReferralCredit.__table__


@functools.cache
def _insert(dialect: str):
    """INSERT a credit unless its event, invitee or unionid is credited already (any unique key)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_CREDITS).on_conflict_do_nothing().returning(_CREDITS.c.id)


def _participant(state: str | None) -> ReferralParticipant | None:
    if parse_state(state) is None:
        return None
    return db.session.scalar(select(ReferralParticipant).where(ReferralParticipant.state == state))


def _known_before(external_userid: str, userid: str, at: datetime) -> bool:
    """Whether the company knew this contact before this add: any relation but the add itself (one a sync may
    have copied first: this staff member, added at the event's time, still live)."""
    relations = db.session.execute(select(FollowRelation.userid, FollowRelation.added_at, FollowRelation.ended_at)
                                   .where(FollowRelation.external_userid == external_userid)).all()
    own = [r for r in relations if r.userid == userid and r.ended_at is None and r.added_at is not None
           and abs(r.added_at - at) <= SAME_ADD]
    if len(relations) > len(own):
        return True
    return not own and db.session.scalar(select(Customer.id).where(Customer.external_userid == external_userid)) \
        is not None


def _contact(payload: Payload) -> dict | None:
    """The invitee as WeCom has them (the welcome's answer when it read one); left for the contact handler."""
    answer = payload.get("_external_contact")
    if answer is None:
        try:
            answer = gateway().get_external_contact(payload["ExternalUserID"])
        except WeComNotFriend:  # deleted again already: the deletion's event voids the credit
            return None
        payload["_external_contact"] = answer
    return answer["external_contact"]


def _running_at(task: ReferralTask, at: datetime) -> bool:
    """Whether the task ran when the invitee added (the event's time, not the time a worker reads it): an add
    just before the task ended (its last unit taken by another inviter's add) still counts, whichever is read
    first."""
    if not task.starts_at <= at <= task.ends_at:
        return False
    if task.status == TaskStatus.RUNNING:
        return True
    return task.status == TaskStatus.ENDED and task.ended_at is not None and at <= task.ended_at


def _verdict(task: ReferralTask, inviter: ReferralParticipant, invitee: str, contact: dict | None,
             userid: str, at: datetime) -> tuple[str, str, str | None]:
    """(status, reason, unionid) of a new credit, before the first-referrer check."""
    unionid = (contact or {}).get("unionid") or None
    if not _running_at(task, at):
        return CreditStatus.REJECTED, "task_not_running", unionid
    inviter_union = inviter.unionid or db.session.scalar(
        select(Customer.unionid).where(Customer.external_userid == inviter.external_userid))
    if invitee == inviter.external_userid or (unionid and unionid == inviter_union):
        return CreditStatus.REJECTED, "self_referral", unionid
    if (contact or {}).get("type") == 2:
        return CreditStatus.REJECTED, "partner", unionid
    if _known_before(invitee, userid, at) or (unionid and db.session.scalar(select(Customer.id).where(
            Customer.unionid == unionid, Customer.external_userid != invitee).limit(1)) is not None):
        return CreditStatus.REJECTED, "existing_customer", unionid
    recent = db.session.scalars(select(ReferralCredit.added_at).where(
        ReferralCredit.participant_id == inviter.id, ReferralCredit.status.in_(COUNTED + (CreditStatus.VOIDED,)),
        ReferralCredit.added_at > at - timedelta(minutes=task.burst_minutes))).all()
    if is_burst(list(recent), at, task.burst_count, task.burst_minutes):
        return CreditStatus.FLAGGED, "burst", unionid
    return CreditStatus.HELD, "", unionid


def credit_add(payload: Payload) -> None:
    """Follow-up of an add (before the contact handler stores the invitee, so "new" means new before this add):
    record the credit once per event, to the first referrer only. A hold of 0 makes it valid at once."""
    inviter = _participant(payload.get("State"))
    if inviter is None:
        return
    if db.session.scalar(select(ReferralCredit.id).where(ReferralCredit.inbox_id == payload["_inbox_id"])):
        return  # this event was credited (a handler after us failed, and the event runs again)
    # one inviter's credits one at a time (burst counts and levels stay exact with several workers)
    db.session.execute(select(ReferralParticipant.id).where(ReferralParticipant.id == inviter.id).with_for_update())
    task = db.session.get(ReferralTask, inviter.task_id)
    invitee, userid = payload["ExternalUserID"], payload.get("UserID", "")
    at = from_epoch(payload.get("CreateTime")) or utcnow()
    status, reason, unionid = _verdict(task, inviter, invitee, _contact(payload), userid, at)
    hold_until = at + timedelta(hours=task.hold_hours)
    if status == CreditStatus.HELD and task.hold_hours == 0:
        status = CreditStatus.VALID
    counted = status != CreditStatus.REJECTED
    row = dict(inbox_id=payload["_inbox_id"], task_id=task.id, participant_id=inviter.id, invitee=invitee,
               invitee_unionid=unionid, userid=userid, claim=invitee if counted else None,
               claim_union=unionid if counted else None, status=status, reason=reason, added_at=at,
               hold_until=hold_until, decided_at=utcnow() if status == CreditStatus.VALID else None,
               review_note="")
    if db.session.execute(_insert(db.engine.dialect.name), row).scalar() is None:
        row.update(claim=None, claim_union=None, status=CreditStatus.REJECTED, reason="already_referred",
                   decided_at=None)
        db.session.execute(_insert(db.engine.dialect.name), row)
    elif status == CreditStatus.VALID:
        rewards.reach_levels(inviter.id)


def credit_void(payload: Payload) -> None:
    """Follow-up of a deletion by either side: credits for this pair still held (or under review) are voided when
    the deletion came before their hold ended; a handover is no deletion."""
    if payload.get("Source") == TRANSFER:
        return
    at = from_epoch(payload.get("CreateTime")) or utcnow()
    reason = "customer_deleted" if payload.get("ChangeType") == "del_follow_user" else "staff_deleted"
    db.session.execute(update(ReferralCredit).where(
        ReferralCredit.invitee == payload["ExternalUserID"], ReferralCredit.userid == payload.get("UserID", ""),
        ReferralCredit.status.in_((CreditStatus.HELD, CreditStatus.FLAGGED)), ReferralCredit.hold_until > at,
    ).values(status=CreditStatus.VOIDED, reason=reason, decided_at=utcnow()))


_DUE = (select(ReferralCredit.id, ReferralCredit.participant_id)
        .where(ReferralCredit.status == CreditStatus.HELD, ReferralCredit.hold_until <= bindparam("now"))
        .order_by(ReferralCredit.id).limit(500))


def _ended_inside_hold(credit: ReferralCredit) -> str | None:
    """Who ended the invitee's relation after the add and before the hold did, its deletion event not handled yet
    (the void reason), or None."""
    ended_by = db.session.scalar(select(FollowRelation.ended_by).where(
        FollowRelation.userid == credit.userid, FollowRelation.external_userid == credit.invitee,
        FollowRelation.ended_at >= credit.added_at - SAME_ADD, FollowRelation.ended_at < credit.hold_until,
        or_(FollowRelation.end_source.is_(None), FollowRelation.end_source != TRANSFER)).limit(1))
    if ended_by is None:
        return None
    return "customer_deleted" if ended_by == ENDED_BY_CUSTOMER else "staff_deleted"


def release_due(now: datetime | None = None) -> int:
    """Held credits whose hold has ended become valid (or void, when the relation ended inside the hold), one
    transaction per credit with its inviter locked; the levels reached are rewarded. The number released."""
    now = now or utcnow()
    released = 0
    for credit_id, participant_id in db.session.execute(_DUE, {"now": now}).all():
        db.session.execute(select(ReferralParticipant.id).where(ReferralParticipant.id == participant_id)
                           .with_for_update())
        credit = db.session.get(ReferralCredit, credit_id, populate_existing=True)
        if credit.status == CreditStatus.HELD:
            if reason := _ended_inside_hold(credit):
                credit.status, credit.reason = CreditStatus.VOIDED, reason
            else:
                credit.status = CreditStatus.VALID
            credit.decided_at = now
            db.session.flush()
            if credit.status == CreditStatus.VALID:
                rewards.reach_levels(participant_id)
                released += 1
        db.session.commit()
    return released


def tag_invitee(payload: Payload) -> None:
    """Follow-up after the contact handler stored the invitee: a counted invitee gets the task's tags in WeCom and
    here (the interactive lane; owed marks make the inbox handle the follow-up again)."""
    credit = db.session.scalar(select(ReferralCredit).where(ReferralCredit.inbox_id == payload["_inbox_id"]))
    if credit is None or credit.status == CreditStatus.REJECTED:
        return
    tag_ids = db.session.scalar(select(ReferralTask.invitee_tag_ids).where(ReferralTask.id == credit.task_id))
    if not tag_ids:
        return
    result, = marking.mark([marking.Change(credit.userid, credit.invitee, tuple(tag_ids))], "referral.invitee_tagged",
                           lane=marking.Lane.INTERACTIVE, details={"task": credit.task_id}, commit=False).results
    if result.outcome in marking.OWED:
        raise marking.Owed(result)
