"""The referral tick (a job, every minute): start and end tasks on time, release held credits, settle contact-way
requests whose answer was lost, create inviters' contact ways and delete those of ended tasks (they count against
the corp's 500,000 quota, wecom-api.md §4), mark new inviters' participant tags and plan milestone messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.contacts.models import Customer
from app.core.audit import record
from app.core.db import utcnow
from app.extensions import db
from app.referral import credits, milestones, participant_tags, reconcile, service
from app.referral.models import ReferralParticipant, ReferralTask, TaskStatus
from app.segments import service as segments
from app.segments.models import Segment
from app.wecom.connection import gateway
from app.wecom.errors import WeComError, WeComRateLimited

QR_SCENE, SINGLE = 2, 1
GONE = 41044  # invalid config_id: WeCom no longer has the way, as good as deleted


def _move_on_time(now: datetime) -> None:
    for task in db.session.scalars(select(ReferralTask).where(
            ReferralTask.status.in_((TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.PAUSED)))):
        if task.ends_at <= now:
            task.status, task.ended_reason, task.ended_at = TaskStatus.ENDED, "time", now
            record("referral.task_ended", target=f"{task.name}#{task.id}", details={"reason": "time"})
        elif task.status == TaskStatus.SCHEDULED and task.starts_at <= now:
            task.status = TaskStatus.RUNNING
            record("referral.task_start", target=f"{task.name}#{task.id}", details={"from": "scheduled"})
        task.updated_at = now
    db.session.commit()


def create_ways() -> int:
    """add_contact_way for each inviter of a live task that has none, one call and one commit each. The request is
    committed before the call: a crash or a lost answer leaves it for reconcile.py, never a second way."""
    made = 0
    pending = db.session.scalars(select(ReferralParticipant).join(ReferralTask).where(
        ReferralTask.status.in_((TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.PAUSED)),
        ReferralParticipant.config_id.is_(None), ReferralParticipant.way_error.is_(None),
        ReferralParticipant.way_requested_at.is_(None)).order_by(ReferralParticipant.id)).all()
    for inviter in pending:
        inviter.way_requested_at = utcnow()  # the real time: reconcile.py lists WeCom's ways from it
        db.session.commit()
        try:
            answer = gateway().add_contact_way(SINGLE, QR_SCENE, state=inviter.state, user=[inviter.userid],
                                               skip_verify=True, remark=reconcile.remark_for(inviter.task_id))
        except WeComRateLimited:  # nothing was made: the next tick asks again
            inviter.way_requested_at = None
            db.session.commit()
            break
        except WeComError as exc:
            if exc.errcode is None:  # no answer (network, timeout): WeCom may have made it, reconcile.py finds out
                break
            # WeCom refused, e.g. 41045: the corp's quota is full; shown on the task page
            inviter.way_error, inviter.way_requested_at = f"{exc.errcode}: {exc.message}"[:256], None
        else:
            inviter.config_id, inviter.qr_code = answer["config_id"], answer.get("qr_code") or ""
            inviter.way_requested_at = None
            made += 1
        db.session.commit()
    return made


def delete_ways() -> int:
    """del_contact_way for every inviter of an ended task; the task is marked done when none is left."""
    deleted = 0
    for task in db.session.scalars(select(ReferralTask).where(ReferralTask.status == TaskStatus.ENDED,
                                                              ReferralTask.ways_deleted_at.is_(None))).all():
        for inviter in db.session.scalars(select(ReferralParticipant).where(
                ReferralParticipant.task_id == task.id, ReferralParticipant.config_id.is_not(None),
                ReferralParticipant.way_deleted_at.is_(None))).all():
            try:
                gateway().del_contact_way(inviter.config_id)
            except WeComError as exc:
                if exc.errcode != GONE:
                    raise
            inviter.way_deleted_at = utcnow()
            deleted += 1
            db.session.commit()
        task.ways_deleted_at = utcnow()
        record("referral.ways_deleted", target=f"{task.name}#{task.id}")
        db.session.commit()
    return deleted


def tick(now: datetime | None = None) -> dict:
    """One round of the referral work; what it did."""
    now = now or utcnow()
    _move_on_time(now)
    released = credits.release_due(now)
    settled = reconcile.settle(now)
    return {"released": released, **settled, "ways_created": create_ways(), "ways_deleted": delete_ways(),
            "participants_tagged": participant_tags.tag_new(now), "milestones": milestones.plan_due(now)}


ENROLL_BATCH = 500


def enroll(task_id: int) -> dict:
    """The job behind 从人群加入邀请人: every member of the task's segment (WeChat users only: a WeCom user cannot
    scan as an invitee would) becomes an inviter, 500 a transaction; the tick then makes their contact ways."""
    task = db.session.get(ReferralTask, task_id)
    segment = db.session.get(Segment, task.segment_id) if task and task.segment_id else None
    if segment is None or task.status == TaskStatus.ENDED:
        return {"joined": 0}
    members = segments.member_ids(segment.rule).subquery()
    ids = db.session.scalars(select(Customer.external_userid).where(Customer.id.in_(select(members.c[0])),
                                                                    Customer.type == 1).order_by(Customer.id)).all()
    for start in range(0, len(ids), ENROLL_BATCH):
        for external_userid in ids[start:start + ENROLL_BATCH]:
            service.join(task, external_userid)
        db.session.commit()
    record("referral.enrolled", target=f"{task.name}#{task.id}", details={"segment": segment.id, "members": len(ids)})
    db.session.commit()
    return {"joined": len(ids)}
