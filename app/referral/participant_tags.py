"""The task's participant tags: every inviter who joined is marked through app/tags (the bulk lane), on the relation
with their most recent staff member, once; the tick does it, a batch at a time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.contacts.models import FollowRelation
from app.core.db import utcnow
from app.extensions import db
from app.referral.models import ReferralParticipant, ReferralTask, TaskStatus
from app.tags import marking

BATCH = 200
LIVE = (TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.PAUSED)


def _relations(external_userids: list[str]) -> dict[str, str]:
    """external_userid -> the staff member of their most recent current relation."""
    fr = FollowRelation
    rank = func.row_number().over(partition_by=fr.external_userid,
                                  order_by=(fr.added_at.desc().nulls_last(), fr.id.desc())).label("rank")
    rows = select(fr.external_userid, fr.userid, rank).where(fr.external_userid.in_(external_userids),
                                                              fr.ended_at.is_(None)).subquery()
    return dict(db.session.execute(select(rows.c.external_userid, rows.c.userid).where(rows.c.rank == 1)).all())


def tag_new(now: datetime | None = None) -> int:
    """Mark the participant tags of inviters not marked yet in live tasks; how many were marked."""
    now = now or utcnow()
    rows = db.session.execute(select(ReferralParticipant.id, ReferralParticipant.external_userid,
                                     ReferralTask.participant_tag_ids, ReferralTask.id.label("task_id"))
                              .join(ReferralTask, ReferralTask.id == ReferralParticipant.task_id)
                              .where(ReferralTask.status.in_(LIVE), ReferralParticipant.tagged_at.is_(None))
                              .order_by(ReferralParticipant.id).limit(BATCH)).all()
    if not rows:
        return 0
    staff = _relations(sorted({r.external_userid for r in rows}))
    changes, nothing = {}, []
    for r in rows:
        if r.participant_tag_ids and r.external_userid in staff:
            changes[r.id] = marking.Change(staff[r.external_userid], r.external_userid, tuple(r.participant_tag_ids))
        else:
            nothing.append(r.id)  # no tags to mark, or no relation left to mark them on
    if nothing:
        db.session.execute(db.update(ReferralParticipant).where(ReferralParticipant.id.in_(nothing))
                           .values(tagged_at=now))
    db.session.commit()
    if not changes:
        return 0
    by_relation: dict[tuple[str, str], list[int]] = {}
    for participant_id, change in changes.items():  # one customer in two tasks: one relation, one call
        by_relation.setdefault(change.relation, []).append(participant_id)

    def settled(results: list[marking.Result]) -> None:
        done = [i for r in results if r.outcome not in marking.OWED for i in by_relation[r.change.relation]]
        if done:
            db.session.execute(db.update(ReferralParticipant).where(ReferralParticipant.id.in_(done))
                               .values(tagged_at=utcnow()))

    report = marking.mark(list(changes.values()), "referral.participant_tagged", on_batch=settled,
                          details={"tasks": sorted({r.task_id for r in rows})})
    return sum(1 for r in report.results if r.ok)
