"""The worker's SOP planner (every minute): each due time of each item of each running SOP is planned exactly once.

An occurrence row is unique per item and due time and is written in the same transaction as what it plans, so a
planner that runs twice (or two at once) plans nothing twice. A push becomes a send of the engine (app.sending) to the
live groups the SOP reaches (its tier's and those added by hand, each once: reach.reached), each sent by its owner, not before the due time and outside quiet hours (the engine decides);
WeCom's per-group receive quota skips a group with reason wecom_quota. A task item gives each owner of those
groups one staff task (app.tasks, idempotent by item, due time and owner). A due time noticed more than
MISFIRE_MINUTES late (the worker was down) is recorded as missed and never sent late.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import sending
from app.community.sop.models import PUSH, GroupSop, OccurrenceStatus as O, SopItem, SopOccurrence, SopSend
from app.community.sop.reach import reached
from app.community.sop.service import schedule_of
from app.contacts.models import CustomerGroup, Staff
from app.core import settings
from app.core.db import transaction, upsert_ignore, utcnow
from app.extensions import db
from app.tasks.models import GROUP_SOP
from app.tasks.service import TaskError, create_task

log = logging.getLogger("scrm.community.sop")
MISFIRE_MINUTES = 30
TASK_DUE_AFTER = timedelta(hours=4)  # a task item is due this long after its time: done by then is on time


def _last_planned() -> dict[int, datetime]:
    return dict(db.session.execute(select(SopOccurrence.item_id, func.max(SopOccurrence.due_at))
                                   .group_by(SopOccurrence.item_id)).all())


def _claim(item: SopItem, due: datetime, status: str, error: str | None = None) -> SopOccurrence | None:
    """The occurrence for this due time, created once; None when it existed already."""
    values = {"item_id": item.id, "sop_id": item.sop_id, "due_at": due, "status": status, "owners": [],
              "error": error, "created_at": utcnow()}
    new_id = db.session.scalar(upsert_ignore(SopOccurrence, values, ["item_id", "due_at"]).returning(SopOccurrence.id))
    return None if new_id is None else db.session.get(SopOccurrence, new_id)


def _plan_push(occurrence: SopOccurrence, item: SopItem, sop: GroupSop, now: datetime) -> None:
    send = SopSend(origin="community_sop", created_at=now, counts={}, variants=[])
    db.session.add(send)
    db.session.flush()
    occurrence.send_id = send.id
    what = sending.Variant("A", 100, {"text": item.text, "attachments": item.attachments or []})
    sending.plan(send, sending.Request(who=sending.groups(reached(sop)), what=(what,), category="content",
                                       holdout_key=f"sop{item.id}", when=occurrence.due_at), now)


def _plan_tasks(occurrence: SopOccurrence, item: SopItem, sop: GroupSop) -> None:
    """One task per active owner of the groups the SOP reaches, naming their groups."""
    groups = db.session.execute(reached(sop).with_only_columns(CustomerGroup.owner, CustomerGroup.name)
                                .join(Staff, Staff.userid == CustomerGroup.owner)
                                .where(Staff.status == 1, Staff.removed_at.is_(None))
                                .order_by(CustomerGroup.owner, CustomerGroup.name)).all()
    by_owner: dict[str, list[str]] = {}
    for owner, name in groups:
        by_owner.setdefault(owner, []).append(name or "")
    stamp = occurrence.due_at.strftime("%Y%m%dT%H%M")
    for owner, names in by_owner.items():
        body = f"{item.text}\n\n群：{'、'.join(names[:20])}" + (f" 等 {len(names)} 个群" if len(names) > 20 else "")
        create_task(owner, item.title, occurrence.due_at + TASK_DUE_AFTER, source=GROUP_SOP,
                    source_key=f"sop:{item.id}:{stamp}:{owner}", body=body, created_by=f"sop#{sop.id}")
    occurrence.owners = sorted(by_owner)
    if not by_owner:
        occurrence.status, occurrence.error = O.FAILED, "该SOP的客户群都没有在职群主，未创建任务"


def plan_occurrence(item_id: int, due: datetime, now: datetime) -> bool:
    """Plan one due time of one item in one transaction; False when it was planned before."""
    with transaction():
        item = db.session.get(SopItem, item_id)
        sop = db.session.get(GroupSop, item.sop_id)
        if now - due > timedelta(minutes=MISFIRE_MINUTES):
            return _claim(item, due, O.MISSED, f"计划时间后 {MISFIRE_MINUTES} 分钟内未能安排（后台任务未运行），本次未执行"
                          ) is not None
        occurrence = _claim(item, due, O.PLANNED)
        if occurrence is None:
            return False
        if db.session.scalar(reached(sop).with_only_columns(CustomerGroup.id).limit(1)) is None:
            occurrence.status, occurrence.error = O.FAILED, "该SOP还没有客户群（分层里没有，也没有手动加入的群）"
        elif item.kind == PUSH:
            _plan_push(occurrence, item, sop, now)
        else:
            _plan_tasks(occurrence, item, sop)
    return True


def plan_due(now: datetime | None = None) -> int:
    """The periodic job: plan every due time of running SOPs up to `now`; how many occurrences were recorded."""
    now = now or utcnow()
    tz = settings.corp_timezone()
    last = _last_planned()
    rows = db.session.execute(select(SopItem, GroupSop.active_since).join(GroupSop, GroupSop.id == SopItem.sop_id)
                              .where(GroupSop.paused.is_(False))).all()
    due = []
    for item, active_since in rows:
        after = max(t for t in (active_since, item.plan_from, last.get(item.id)) if t is not None)
        due += [(item.id, when) for when in schedule_of(item).due_times(after, now, tz)]
    db.session.rollback()
    made = 0
    for item_id, when in sorted(due, key=lambda d: d[1]):
        try:
            made += plan_occurrence(item_id, when, now)
        except TaskError as exc:
            log.warning("SOP item %s at %s: %s", item_id, when, exc)
    return made
