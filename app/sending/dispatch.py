"""The worker's dispatcher: planned sends become send tasks (≤ 10,000 each), each submitted once with add_msg_template.

Exactly-once towards WeCom, step by step:
1. A due send is claimed (FOR UPDATE SKIP LOCKED), its origin asked whether it still may go (Send.veto), and in the
   same transaction its planned deliveries are cut into SendTasks per (sender, variant) and linked to them. A crash rolls all of it back; a commit makes it final.
2. A batch of tasks is claimed for submission in two statements: status "submitting", a lease (claimed_until),
   submitted_at = first attempt. All of it is committed BEFORE any add_msg_template is called.
3. The batch's calls go out side by side (dispatch_submit: a few threads sharing the gateway and its rate limiter;
   none starts once the lease is half gone), and every answer (msgid, fail_list) is committed with the deliveries
   in one transaction. If the worker dies between 2 and 3, mid-batch or not, or an answer is lost (timeout,
   network error, -1), the task stays "submitting"; once the lease has passed, the next claim first looks for the
   message in get_groupmsg_list_v2 (corp-created, same text, since the first attempt) and checks that its task is
   this sender's and its recipients are ours. Found: adopt its msgid. Not found: send.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import and_, case, func, literal, or_, select, text, update

from app.contacts.models import Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.sending import dispatch_submit, sendrules
from app.sending.planner import summary
from app.sending.models import Delivery, DeliveryStatus, RunStatus, Send, SendTask, TaskStatus

log = logging.getLogger("scrm.sending.dispatch")

LEASE = timedelta(minutes=5)                 # far longer than a batch's calls (dispatch_submit.CALL_WINDOW)
BATCH = 50                                   # tasks claimed together: under a second at WeCom's rate
LINK_BATCH = 100                             # tasks per UPDATE when linking deliveries to their task
PERSONAL_LINK_BATCH = 1000                   # personalised deliveries per executemany linking them to their task
DUE_STATUSES = (RunStatus.PLANNED, RunStatus.WAITING_WINDOW)


# -- runs -> tasks ---------------------------------------------------------------------------------------

def start_due_run(now: datetime | None = None) -> int | None:
    """Claim one due send and cut its planned deliveries into send tasks, all in one transaction; the send id."""
    now = now or utcnow()
    with transaction():
        q = (select(Send).where(Send.status.in_(DUE_STATUSES), or_(Send.not_before.is_(None), Send.not_before <= now))
             .order_by(Send.id).limit(1).with_for_update(skip_locked=True))
        send = db.session.scalars(q).first()
        if send is None:
            return None
        if reason := send.veto():
            send.status, send.finished_at, send.error = RunStatus.FAILED, now, reason
            db.session.execute(update(Delivery).where(Delivery.run_id == send.id,
                                                      Delivery.status == DeliveryStatus.PLANNED)
                               .values(status=DeliveryStatus.SKIPPED, skip_reason="not_approved", updated_at=now),
                               execution_options={"synchronize_session": False})
            return send.id
        _withdraw(send, now)
        tasks = _make_tasks(send, sendrules.chunk_size(send.chat_type))
        send.status = RunStatus.DISPATCHING if tasks else RunStatus.FINISHED
        if not tasks:
            send.finished_at = now
        log.info("send %s: %d send tasks", send.id, tasks)
    if tasks:
        _refresh_statistics()
    return send.id


def _withdraw(send: Send, now: datetime) -> None:
    """Skip the planned recipients the send's origin withdraws now (Send.withdrawn), before any task is cut."""
    found = send.withdrawn()
    if found is None:
        return
    reason, query = found
    # read first, then mark by id: a planner never folds the origin's query into the outbox's UPDATE
    customer_ids = sorted(set(db.session.scalars(query)))
    skipped = 0
    for start in range(0, len(customer_ids), 1000):
        skipped += db.session.execute(update(Delivery).where(
            Delivery.run_id == send.id, Delivery.status == DeliveryStatus.PLANNED, Delivery.send_task_id.is_(None),
            Delivery.customer_id.in_(customer_ids[start:start + 1000]))
            .values(status=DeliveryStatus.SKIPPED, skip_reason=reason, updated_at=now),
            execution_options={"synchronize_session": False}).rowcount
    if skipped:
        send.counts = summary(send.id)


def _refresh_statistics() -> None:
    """PostgreSQL: sample the outbox once its rows point to their tasks. Its statistics are otherwise missing (a
    fresh table) or predate these tasks, and each batch's lookups by send_task_id would read the whole table."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE campaign_deliveries"))
        db.session.commit()


def _make_tasks(run: Send, size: int) -> int:
    """Create the send's tasks, each with its message as planned (the variant's text with the sender's name, the
    attachments, a recipient's personal values), and link every planned delivery to its task; the number of tasks.
    Recipients with personal values share a task only with those of the same values (one content per task)."""
    rows = db.session.execute(
        select(Delivery.id, Delivery.sender_userid, Delivery.variant_key, Delivery.personal)
        .where(Delivery.run_id == run.id, Delivery.status == DeliveryStatus.PLANNED,
               Delivery.send_task_id.is_(None))
        .order_by(Delivery.sender_userid, Delivery.variant_key, Delivery.id)).all()
    # The name synced from WeCom; before the first sync only the userid is known.
    names = dict(db.session.execute(select(Staff.userid, Staff.name)
                                    .where(Staff.userid.in_(sorted({r.sender_userid for r in rows})))).all())
    ranges = []  # (sender, variant, first id, last id, task id): a chunk is a contiguous stretch of its plain rows
    personal = []  # (task id, delivery ids) of personalised tasks
    for (sender, variant), group in groupby(rows, key=lambda r: (r.sender_userid, r.variant_key)):
        by_values: dict[str | None, list[int]] = {}
        for r in group:
            by_values.setdefault(r.personal, []).append(r.id)
        chunk_no = 0
        for values, ids in by_values.items():
            message = _message_of(run.content_of(variant), names.get(sender) or sender or "",
                                  json.loads(values) if values else None)
            for chunk in sendrules.chunks(ids, size):
                task = SendTask(run_id=run.id, sender_userid=sender or "", variant_key=variant or "",
                                chunk_no=chunk_no, content=message, status=TaskStatus.PENDING)
                db.session.add(task)
                db.session.flush()
                chunk_no += 1
                if values is None:
                    ranges.append((sender, variant, chunk[0], chunk[-1], task.id))
                else:
                    personal.append((task.id, list(chunk)))
    # One pass over the run's rows per batch of senders (a fresh outbox has no statistics: no plan may rely
    # on them), each row finding its task in a CASE over the batch's ranges.
    for batch in _sender_batches(ranges):
        senders = {r[0] for r in batch}
        task_of = case(*[(and_(Delivery.sender_userid == s, Delivery.variant_key == v, Delivery.id.between(lo, hi)),
                          task_id) for s, v, lo, hi, task_id in batch], else_=Delivery.send_task_id)
        db.session.execute(update(Delivery).where(Delivery.run_id == run.id, Delivery.status == DeliveryStatus.PLANNED,
                                                  Delivery.personal.is_(None), Delivery.sender_userid.in_(senders))
                           .values(send_task_id=task_of), execution_options={"synchronize_session": False})
    links = [dict(id=delivery_id, send_task_id=task_id) for task_id, ids in personal for delivery_id in ids]
    for start in range(0, len(links), PERSONAL_LINK_BATCH):
        db.session.execute(update(Delivery), links[start:start + PERSONAL_LINK_BATCH])
    return len(ranges) + len(personal)


def _message_of(content: dict, sender_name: str, personal: dict | None = None) -> dict:
    """The task's message: the variant's text and attachments with the sender's name and the personal values."""
    return sendrules.personalise(content.get("text") or "", content.get("attachments") or [], sender_name, personal)


def _sender_batches(ranges: list[tuple]):
    """The ranges in batches of about LINK_BATCH tasks, never splitting one sender's tasks."""
    batch: list[tuple] = []
    for sender, group in groupby(ranges, key=lambda r: r[0]):
        group = list(group)
        if batch and len(batch) + len(group) > LINK_BATCH:
            yield batch
            batch = []
        batch += group
    if batch:
        yield batch


# -- tasks -> WeCom --------------------------------------------------------------------------------------

def claim_tasks(limit: int, now: datetime | None = None) -> list[tuple[int, bool]]:
    """Take up to `limit` tasks to submit, all committed as "submitting" under a lease before any call:
    (task id, whether an earlier attempt may have reached WeCom)."""
    now = now or utcnow()
    due = or_((SendTask.status == TaskStatus.PENDING)
              & or_(SendTask.next_poll_at.is_(None), SendTask.next_poll_at <= now),
              (SendTask.status == TaskStatus.SUBMITTING) & (SendTask.claimed_until < now))
    with transaction():
        rows = db.session.execute(select(SendTask.id, SendTask.status).where(due).order_by(SendTask.id)
                                  .limit(limit).with_for_update(skip_locked=True)).all()
        if rows:
            db.session.execute(
                update(SendTask).where(SendTask.id.in_([r.id for r in rows]))
                .values(status=TaskStatus.SUBMITTING, claimed_until=now + LEASE, attempts=SendTask.attempts + 1,
                        submitted_at=func.coalesce(SendTask.submitted_at, literal(now, SendTask.submitted_at.type)),
                        updated_at=now),
                execution_options={"synchronize_session": False})
    return [(r.id, r.status == TaskStatus.SUBMITTING) for r in rows]


def work_once(limit: int = BATCH, gw=None) -> int:
    """One worker turn: start a due send, then submit a batch of up to `limit` tasks; how much was done."""
    started = start_due_run() is not None
    claimed = claim_tasks(limit)
    try:
        dispatch_submit.submit(claimed, gw)
    except Exception:  # left under their leases: the next claim looks each message up before sending
        db.session.rollback()
        log.exception("send tasks %s failed unexpectedly", [task_id for task_id, _ in claimed])
    return int(started) + len(claimed)
