"""Milestone messages: an inviter who reached a level (its reward reserved) or is one valid invite away from it gets
the task's message once, 1:1 through the send engine from the receiving staff member (from their own staff member
when they are not the receiving one's customer), with a link to their progress page. Planned by the tick."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import sending
from app.contacts.models import Customer, FollowRelation
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.referral import links
from app.referral.models import (CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant, ReferralReservation,
                                 ReferralSend, ReferralTask, ReservationStatus, TaskStatus)

CATEGORY = "service"
REACHED, NEAR = "reached", "near"
VARIABLES = ("奖励", "邀请人数", "还差人数")  # what the task's milestone texts may name
MAX_TEXT = 500
LINK_TITLE = "查看我的邀请进度"
PER_TICK = 500  # messages planned per tick at most: the rest next minute
AFTER_END = timedelta(days=1)  # a task ended by its stock still sends the last levels' messages this long


def key(participant_id: int, level_id: int, kind: str) -> str:
    return f"ms:{participant_id}:{level_id}:{kind}"


def render(text: str, reward: str, valid: int, missing: int) -> str:
    values = {"奖励": reward, "邀请人数": str(valid), "还差人数": str(missing)}
    for name, value in values.items():
        text = text.replace("{%s}" % name, value)
    return text


def _due(task: ReferralTask) -> list[tuple[ReferralParticipant, ReferralLevel, str, int]]:
    """(inviter, level, kind, valid invites) of every milestone of the task not planned yet."""
    valid = dict(db.session.execute(select(ReferralCredit.participant_id, func.count()).where(
        ReferralCredit.task_id == task.id, ReferralCredit.status == CreditStatus.VALID)
        .group_by(ReferralCredit.participant_id)).all())
    if not valid:
        return []
    levels = db.session.scalars(select(ReferralLevel).where(ReferralLevel.task_id == task.id)).all()
    reserved = set(db.session.execute(select(ReferralReservation.participant_id, ReferralReservation.level_id).where(
        ReferralReservation.task_id == task.id,
        ReferralReservation.status.in_((ReservationStatus.RESERVED, ReservationStatus.GIVEN)))).all())
    taken = set(db.session.scalars(select(ReferralSend.referral_key).where(
        ReferralSend.referral_task_id == task.id, ReferralSend.referral_key.like("ms:%"))))
    inviters = {p.id: p for p in db.session.scalars(select(ReferralParticipant).where(
        ReferralParticipant.id.in_(list(valid))))}
    due = []
    for participant_id, count in sorted(valid.items()):
        for level in levels:
            if task.milestone_text and (participant_id, level.id) in reserved:
                kind = REACHED
            elif (task.near_text and level.needed >= 2 and count == level.needed - 1
                  and level.reserved < level.stock):
                kind = NEAR
            else:
                continue
            if key(participant_id, level.id, kind) not in taken:
                due.append((inviters[participant_id], level, kind, count))
    return due


def _senders(inviter: ReferralParticipant) -> set[str] | None:
    """The receiving staff member when the inviter is their customer; otherwise any (their latest relation)."""
    friends = db.session.scalar(select(FollowRelation.id).where(
        FollowRelation.userid == inviter.userid, FollowRelation.external_userid == inviter.external_userid,
        FollowRelation.ended_at.is_(None)).limit(1))
    return {inviter.userid} if friends else None


def _plan(task: ReferralTask, inviter: ReferralParticipant, level: ReferralLevel, kind: str, valid: int,
          base_url: str | None, now: datetime) -> None:
    text = render(task.milestone_text if kind == REACHED else task.near_text, level.reward, valid,
                  max(level.needed - valid, 0))
    attachments = [{"msgtype": "link", "link": {
        "title": LINK_TITLE, "desc": task.name,
        "url": links.customer_url(base_url, task.id, inviter.external_userid)}}] if base_url else []
    send = ReferralSend(referral_task_id=task.id, referral_key=key(inviter.id, level.id, kind))
    db.session.add(send)
    who = select(Customer.id.label("customer_id")).where(Customer.external_userid == inviter.external_userid)
    sending.plan(send, sending.Request(
        who=sending.customers(who, _senders(inviter)),
        what=(sending.Variant("A", 100, {"text": text, "attachments": attachments}),),
        category=CATEGORY, holdout_key=f"referral-ms-{task.id}"), now)


def plan_due(now: datetime | None = None) -> int:
    """Plan the milestone messages due in running tasks (and in tasks that ended by stock: the last reward reached
    still gets its message), one commit each; how many."""
    now = now or utcnow()
    base_url = settings.get("console.url")
    planned = 0
    tasks = db.session.scalars(select(ReferralTask).where(
        (ReferralTask.milestone_text != "") | (ReferralTask.near_text != ""),
        ReferralTask.status.in_((TaskStatus.RUNNING, TaskStatus.PAUSED, TaskStatus.ENDED)),
        (ReferralTask.status != TaskStatus.ENDED)
        | ((ReferralTask.ended_reason == "stock") & (ReferralTask.ended_at >= now - AFTER_END)))).all()
    for task in tasks:
        for inviter, level, kind, valid in _due(task):
            if planned >= PER_TICK:
                return planned
            if kind == NEAR and task.status == TaskStatus.ENDED:
                continue
            _plan(task, inviter, level, kind, valid, base_url, now)
            db.session.commit()
            planned += 1
    return planned
