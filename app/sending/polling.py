"""After submission: poll WeCom until each task is final, remind staff who have not confirmed, cancel sends."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import groupby

from flask import current_app
from sqlalchemy import bindparam, exists, func, or_, select, update

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.extensions import db
from app.sending import sendrules
from app.sending.models import Delivery, DeliveryStatus, RunStatus, Send, SendTask, TaskStatus
from app.wecom.errors import WeComError

log = logging.getLogger("scrm.sending.polling")

POLLED = (TaskStatus.SUBMITTED, TaskStatus.CONFIRMED, TaskStatus.CANCELLED)
OPEN_SUBMIT = (TaskStatus.PENDING, TaskStatus.SUBMITTING)
UPDATE_BATCH = 5_000


@dataclass(frozen=True)
class Timing:
    """When to remind and when to give up; app config CAMPAIGN_REMIND_AFTER_HOURS, CAMPAIGN_MAX_REMINDS,
    CAMPAIGN_CONFIRM_HOURS (defaults 2 h, 3 reminders, 72 h)."""

    remind_after: timedelta = timedelta(hours=2)
    max_reminds: int = sendrules.MAX_REMINDS_PER_DAY
    confirm_within: timedelta = timedelta(hours=72)

    @classmethod
    def from_config(cls) -> "Timing":
        cfg = current_app.config
        return cls(timedelta(hours=float(cfg.get("CAMPAIGN_REMIND_AFTER_HOURS", 2))),
                   int(cfg.get("CAMPAIGN_MAX_REMINDS", sendrules.MAX_REMINDS_PER_DAY)),
                   timedelta(hours=float(cfg.get("CAMPAIGN_CONFIRM_HOURS", 72))))


def _gateway():
    from app.wecom.connection import gateway

    return gateway()


def set_deliveries(task_ids: list[int], status: str, fail_reason: str | None, now: datetime, targets=None,
                   sent_at: datetime | None = None) -> None:
    """Move the tasks' still-open deliveries (planned or submitted), or only `targets` of them, to `status`.

    One statement per task, sent together (executemany): each finds its rows through the send_task_id index
    whatever the statistics say (with an IN list and none, PostgreSQL reads the whole outbox)."""
    values = dict(status=status, fail_reason=fail_reason, updated_at=now)
    if sent_at is not None:
        values["sent_at"] = sent_at
    still_open = or_(Delivery.status == DeliveryStatus.PLANNED, Delivery.status == DeliveryStatus.SUBMITTED)
    base = update(Delivery.__table__).where(Delivery.send_task_id == bindparam("task"), still_open).values(**values)
    if targets is None:
        db.session.connection().execute(base, [{"task": task_id} for task_id in task_ids])
        return
    for task_id in task_ids:
        for part in sendrules.chunks(list(targets), UPDATE_BATCH):
            db.session.connection().execute(base.where(Delivery.target_key.in_(part)), {"task": task_id})


def advance_run(run_id: int, now: datetime) -> None:
    """Inside the caller's transaction: dispatching -> polling when every task is submitted, -> finished when final."""
    run = db.session.get(Send, run_id)
    if run.status not in (RunStatus.DISPATCHING, RunStatus.POLLING) or db.session.scalar(select(exists().where(
            SendTask.run_id == run_id, SendTask.status.in_(OPEN_SUBMIT)))):
        return
    counts = dict(db.session.execute(
        select(SendTask.status, func.count()).where(SendTask.run_id == run_id).group_by(SendTask.status)).all())
    final_poll = db.session.scalar(select(func.count()).where(
        SendTask.run_id == run_id, SendTask.status == TaskStatus.CANCELLED, SendTask.next_poll_at.is_not(None)))
    if counts.get(TaskStatus.SUBMITTED) or counts.get(TaskStatus.CONFIRMED) or final_poll:
        run.status = RunStatus.POLLING
    else:
        run.status, run.finished_at = RunStatus.FINISHED, now


# -- polling ----------------------------------------------------------------------------------------------

def poll_due(now: datetime | None = None, gw=None, timing: Timing | None = None, limit: int = 500) -> int:
    """Poll every task whose next poll is due (the scheduler calls this each minute); how many were polled."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(SendTask.id).where(
        SendTask.status.in_(POLLED), SendTask.msgid.is_not(None), SendTask.next_poll_at <= now)
        .order_by(SendTask.next_poll_at).limit(limit)))
    db.session.rollback()
    if not ids:
        return 0
    gw, timing = gw or _gateway(), timing or Timing.from_config()
    for task_id in ids:
        try:
            poll_task(task_id, now, gw, timing)
        except WeComError as exc:  # try again at the next tick; one bad task does not stop the others
            db.session.rollback()
            log.warning("polling send task %s failed: %s", task_id, exc)
    return len(ids)


def _epoch(seconds) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), timezone.utc) if seconds else None


def poll_task(task_id: int, now: datetime, gw, timing: Timing) -> str:
    """Ask WeCom about one task; record confirmation and per-customer results; remind or give up."""
    task = db.session.get(SendTask, task_id)
    msgid, sender, status = task.msgid, task.sender_userid, task.status
    submitted_at, reminds, last_remind = task.submitted_at, task.remind_count, task.last_reminded_at
    db.session.rollback()
    mine = next((t for t in gw.iter_groupmsg_tasks(msgid) if t["userid"] == sender), None)
    confirmed = mine is not None and sendrules.task_confirmed(mine.get("status"))
    sent = confirmed and mine.get("status") == sendrules.TASK_SENT
    rows = list(gw.iter_groupmsg_send_results(msgid, sender)) if confirmed else []
    reminded = gave_up = False
    error = None
    if not confirmed and status != TaskStatus.CANCELLED:
        if now >= submitted_at + timing.confirm_within:
            gave_up = True
            error = _try(gw.cancel_groupmsg_send, msgid)  # a late confirmation would fall outside the results
        elif sendrules.remind_due(submitted_at, last_remind, reminds, now, timing.remind_after, timing.max_reminds):
            error = _try(gw.remind_groupmsg_send, msgid)
            reminded = error is None
    with transaction():
        task = db.session.get(SendTask, task_id, with_for_update=True)
        if task.status not in POLLED:
            return task.status
        task.updated_at, task.error = now, error or task.error
        if reminded:
            task.remind_count, task.last_reminded_at = task.remind_count + 1, now
        if confirmed:
            task.confirmed_at = task.confirmed_at or _epoch(mine.get("send_time")) or now
            _apply(task_id, rows, now)
        open_rows = any(r.get("status") == 0 for r in rows)
        if task.status == TaskStatus.CANCELLED:
            set_deliveries([task_id], DeliveryStatus.FAILED, "cancelled", now)
            task.next_poll_at = None
        elif gave_up:
            set_deliveries([task_id], DeliveryStatus.FAILED, "not_confirmed", now)
            task.status, task.next_poll_at = TaskStatus.FINISHED, None
            task.error = error or f"成员 {timing.confirm_within.total_seconds() / 3600:g} 小时内未确认，已取消该群发"
        elif confirmed and ((sent and not open_rows) or now >= task.confirmed_at + timing.confirm_within):
            set_deliveries([task_id], DeliveryStatus.FAILED, "not_sent", now)  # never listed as sent
            task.status, task.next_poll_at = TaskStatus.FINISHED, None
        else:
            task.status = TaskStatus.CONFIRMED if confirmed else task.status
            task.next_poll_at = now + sendrules.next_poll_delay(now - submitted_at)
        advance_run(task.run_id, now)
        return task.status


def _apply(task_id: int, rows: list[dict], now: datetime) -> None:
    """Write WeCom's per-recipient results: sent (with its time), not a friend, over quota."""
    decided = [(sendrules.outcome(r.get("status")), r.get("send_time") or 0,
                r.get("external_userid") or r.get("chat_id")) for r in rows]
    decided = sorted((o, t, k) for o, t, k in decided if o is not None)
    for (outcome, send_time), group in groupby(decided, key=lambda d: (d[0], d[1])):
        status, reason = outcome
        sent_at = (_epoch(send_time) or now) if status == DeliveryStatus.SENT else None
        set_deliveries([task_id], status, reason, now, [k for _, _, k in group], sent_at=sent_at)


def _try(call, msgid: str) -> str | None:
    try:
        call(msgid)
    except WeComError as exc:
        log.warning("%s for %s failed: %s", getattr(call, "__name__", call), msgid, exc)
        return str(exc)[:2000]
    return None


# -- cancel -----------------------------------------------------------------------------------------------

def cancel_run(run_id: int, gw=None) -> dict:
    """Cancel a send: nothing more is submitted, every submitted WeCom task is cancelled (audited)."""
    now = utcnow()
    with transaction():
        run = db.session.get(Send, run_id, with_for_update=True)
        if run is None or run.status in RunStatus.FINAL:
            return {"cancelled": False, "status": run.status if run else None}
        run.status, run.finished_at = RunStatus.CANCELLED, now
        db.session.execute(update(SendTask).where(SendTask.run_id == run_id, SendTask.status.in_(OPEN_SUBMIT))
                           .values(status=TaskStatus.CANCELLED, next_poll_at=None, updated_at=now),
                           execution_options={"synchronize_session": False})
        skipped = db.session.execute(
            update(Delivery).where(Delivery.run_id == run_id, Delivery.status == DeliveryStatus.PLANNED)
            .values(status=DeliveryStatus.SKIPPED, skip_reason="cancelled", updated_at=now),
            execution_options={"synchronize_session": False}).rowcount
        live = list(db.session.scalars(select(SendTask.id).where(
            SendTask.run_id == run_id, SendTask.status.in_((TaskStatus.SUBMITTED, TaskStatus.CONFIRMED)))))
        record(run.CANCEL_ACTION, target=run.describe(),
               details={"run_id": run_id, "skipped": skipped, "wecom_tasks": len(live)})
    failed = [task_id for task_id in live if not cancel_on_wecom(task_id, gw)]
    return {"cancelled": True, "skipped": skipped, "wecom_tasks": len(live), "wecom_failed": len(failed)}


def cancel_on_wecom(task_id: int, gw=None) -> bool:
    """cancel_groupmsg_send for one task, then one last poll records what was sent before; True when WeCom agreed."""
    task = db.session.get(SendTask, task_id)
    msgid = task.msgid
    db.session.rollback()
    error = _try((gw or _gateway()).cancel_groupmsg_send, msgid)
    now = utcnow()
    with transaction():
        task = db.session.get(SendTask, task_id)
        if task.status != TaskStatus.FINISHED:
            task.status, task.next_poll_at, task.updated_at = TaskStatus.CANCELLED, now, now
        task.error = error or task.error
    return error is None


def tick() -> None:
    """The scheduler's job: poll every due task (results, reminders, deadlines)."""
    polled = poll_due()
    if polled:
        log.info("polled %d send tasks", polled)
