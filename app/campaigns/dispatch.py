"""The worker's dispatcher: planned runs become send tasks (≤ 10,000 each), each submitted once with add_msg_template.

Exactly-once towards WeCom, step by step:
1. A due run is claimed (FOR UPDATE SKIP LOCKED) and, in the same transaction, its planned deliveries are cut
   into SendTasks per (sender, variant) and linked to them. A crash rolls all of it back; a commit makes it final.
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

import logging
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import and_, case, func, literal, or_, select, text, update

from app.campaigns import dispatch_submit, sendrules
from app.campaigns.models import (
    Campaign, CampaignRun, CampaignVariant, Delivery, DeliveryStatus, RunStatus, SendTask, TaskStatus,
)
from app.contacts.models import Staff
from app.core.db import transaction, utcnow
from app.extensions import db

log = logging.getLogger("scrm.campaigns.dispatch")

LEASE = timedelta(minutes=5)                 # far longer than a batch's calls (dispatch_submit.CALL_WINDOW)
BATCH = 50                                   # tasks claimed together: under a second at WeCom's rate
LINK_BATCH = 100                             # tasks per UPDATE when linking deliveries to their task
DUE_STATUSES = (RunStatus.PLANNED, RunStatus.WAITING_WINDOW)


# -- runs -> tasks ---------------------------------------------------------------------------------------

def start_due_run(now: datetime | None = None) -> int | None:
    """Claim one due run and cut its planned deliveries into send tasks, all in one transaction; the run id."""
    now = now or utcnow()
    with transaction():
        q = (select(CampaignRun).where(CampaignRun.status.in_(DUE_STATUSES),
                                       or_(CampaignRun.not_before.is_(None), CampaignRun.not_before <= now))
             .order_by(CampaignRun.id).limit(1).with_for_update(skip_locked=True))
        run = db.session.scalars(q).first()
        if run is None:
            return None
        campaign = db.session.get(Campaign, run.campaign_id)
        if run.kind != "test" and not (campaign.is_approved and campaign.version == run.campaign_version):
            # Content is read now: an edit after planning (or a withdrawn approval) must not go out unreviewed.
            run.status, run.finished_at = RunStatus.FAILED, now
            run.error = "活动在规划后被修改或未审批，本次未发送；请重新审批后再运行"
            db.session.execute(update(Delivery).where(Delivery.run_id == run.id,
                                                      Delivery.status == DeliveryStatus.PLANNED)
                               .values(status=DeliveryStatus.SKIPPED, skip_reason="not_approved", updated_at=now),
                               execution_options={"synchronize_session": False})
            return run.id
        tasks = _make_tasks(run, campaign, sendrules.chunk_size(campaign.chat_type))
        run.status = RunStatus.DISPATCHING if tasks else RunStatus.FINISHED
        if not tasks:
            run.finished_at = now
        log.info("campaign run %s: %d send tasks", run.id, tasks)
    if tasks:
        _refresh_statistics()
    return run.id


def _refresh_statistics() -> None:
    """PostgreSQL: sample the outbox once its rows point to their tasks. Its statistics are otherwise missing (a
    fresh table) or predate these tasks, and each batch's lookups by send_task_id would read the whole table."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE campaign_deliveries"))
        db.session.commit()


def _make_tasks(run: CampaignRun, campaign: Campaign, size: int) -> int:
    """Create the run's tasks, each with its message as approved (the variant's text with the sender's name, the
    attachments), and link every planned delivery to its task; the number of tasks."""
    contents = dict(db.session.execute(select(CampaignVariant.key, CampaignVariant.content)
                                       .where(CampaignVariant.campaign_id == campaign.id)).all())
    rows = db.session.execute(
        select(Delivery.id, Delivery.sender_userid, Delivery.variant_key)
        .where(Delivery.run_id == run.id, Delivery.status == DeliveryStatus.PLANNED,
               Delivery.send_task_id.is_(None))
        .order_by(Delivery.sender_userid, Delivery.variant_key, Delivery.id)).all()
    # The name synced from WeCom; before the first sync only the userid is known.
    names = dict(db.session.execute(select(Staff.userid, Staff.name)
                                    .where(Staff.userid.in_(sorted({r.sender_userid for r in rows})))).all())
    ranges = []  # (sender, variant, first id, last id, task id): a chunk is a contiguous stretch of its group
    for (sender, variant), group in groupby(rows, key=lambda r: (r.sender_userid, r.variant_key)):
        ids = [r.id for r in group]
        for chunk_no, chunk in enumerate(sendrules.chunks(ids, size)):
            task = SendTask(run_id=run.id, sender_userid=sender or "", variant_key=variant or "",
                            chunk_no=chunk_no, content=_message_of(contents.get(variant) or campaign.content or {},
                                                                   names.get(sender) or sender or ""),
                            status=TaskStatus.PENDING)
            db.session.add(task)
            db.session.flush()
            ranges.append((sender, variant, chunk[0], chunk[-1], task.id))
    # One pass over the run's rows per batch of senders (a fresh outbox has no statistics: no plan may rely
    # on them), each row finding its task in a CASE over the batch's ranges.
    for batch in _sender_batches(ranges):
        senders = {r[0] for r in batch}
        task_of = case(*[(and_(Delivery.sender_userid == s, Delivery.variant_key == v, Delivery.id.between(lo, hi)),
                          task_id) for s, v, lo, hi, task_id in batch], else_=Delivery.send_task_id)
        db.session.execute(update(Delivery).where(Delivery.run_id == run.id, Delivery.status == DeliveryStatus.PLANNED,
                                                  Delivery.sender_userid.in_(senders)).values(send_task_id=task_of),
                           execution_options={"synchronize_session": False})
    return len(ranges)


def _message_of(content: dict, sender_name: str) -> dict:
    return {"text": sendrules.render_text(content.get("text") or "", sender_name),
            "attachments": content.get("attachments") or []}


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
    """One worker turn: start a due run, then submit a batch of up to `limit` tasks; how much was done."""
    started = start_due_run() is not None
    claimed = claim_tasks(limit)
    try:
        dispatch_submit.submit(claimed, gw)
    except Exception:  # left under their leases: the next claim looks each message up before sending
        db.session.rollback()
        log.exception("send tasks %s failed unexpectedly", [task_id for task_id, _ in claimed])
    return int(started) + len(claimed)
