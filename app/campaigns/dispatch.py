"""The worker's dispatcher: planned runs become send tasks (≤ 10,000 each), each submitted once with add_msg_template.

Exactly-once towards WeCom, step by step:
1. A due run is claimed (FOR UPDATE SKIP LOCKED) and, in the same transaction, its planned deliveries are cut
   into SendTasks per (sender, variant) and linked to them. A crash rolls all of it back; a commit makes it final.
2. A task is claimed for submission: status "submitting", a lease (claimed_until), submitted_at = first attempt.
   That is committed BEFORE add_msg_template is called.
3. The answer (msgid, fail_list) is committed with the deliveries. If the worker dies between 2 and 3, or the answer
   is lost (timeout, network error, -1), the task stays "submitting"; once the lease has passed, the next claim
   first looks for the message in get_groupmsg_list_v2 (corp-created, same text, since the first attempt) and
   checks that its task is this sender's and its recipients are ours. Found: adopt its msgid. Not found: send.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import and_, case, or_, select, update

from app.campaigns import sendrules
from app.campaigns.models import (
    Campaign, CampaignRun, CampaignVariant, Delivery, DeliveryStatus, RunStatus, SendTask, TaskStatus,
)
from app.campaigns.polling import advance_run, cancel_on_wecom, set_deliveries
from app.contacts.models import Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.wecom.errors import WeComError, WeComNetworkError, WeComRateLimited

log = logging.getLogger("scrm.campaigns.dispatch")

LEASE = timedelta(minutes=5)                 # far longer than one add_msg_template with its retries
UNKNOWN_RECHECK = timedelta(seconds=30)      # after a lost answer, look the message up this much later
RATE_LIMITED_RETRY = timedelta(minutes=1)
LOOKUP_MARGIN = timedelta(minutes=2)         # clock difference allowed between us and WeCom
MAX_LOOKUP_WINDOW = timedelta(days=30)       # get_groupmsg_list_v2 accepts at most one month
NO_SENDABLE_CUSTOMER = 41048
LINK_BATCH = 100                             # tasks per UPDATE when linking deliveries to their task
DUE_STATUSES = (RunStatus.PLANNED, RunStatus.WAITING_WINDOW)


def _gateway():
    from app.wecom.connection import gateway

    return gateway()


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
        tasks = _make_tasks(run, sendrules.chunk_size(campaign.chat_type))
        run.status = RunStatus.DISPATCHING if tasks else RunStatus.FINISHED
        if not tasks:
            run.finished_at = now
        log.info("campaign run %s: %d send tasks", run.id, tasks)
    return run.id


def _make_tasks(run: CampaignRun, size: int) -> int:
    """Create the run's tasks and link every planned delivery to its task; the number of tasks."""
    rows = db.session.execute(
        select(Delivery.id, Delivery.sender_userid, Delivery.variant_key)
        .where(Delivery.run_id == run.id, Delivery.status == DeliveryStatus.PLANNED,
               Delivery.send_task_id.is_(None))
        .order_by(Delivery.sender_userid, Delivery.variant_key, Delivery.id)).all()
    ranges = []  # (sender, variant, first id, last id, task id): a chunk is a contiguous stretch of its group
    for (sender, variant), group in groupby(rows, key=lambda r: (r.sender_userid, r.variant_key)):
        ids = [r.id for r in group]
        for chunk_no, chunk in enumerate(sendrules.chunks(ids, size)):
            task = SendTask(run_id=run.id, sender_userid=sender or "", variant_key=variant or "",
                            chunk_no=chunk_no, status=TaskStatus.PENDING)
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
    """Take up to `limit` tasks to submit: (task id, whether an earlier attempt may have reached WeCom)."""
    now = now or utcnow()
    due = or_((SendTask.status == TaskStatus.PENDING)
              & or_(SendTask.next_poll_at.is_(None), SendTask.next_poll_at <= now),
              (SendTask.status == TaskStatus.SUBMITTING) & (SendTask.claimed_until < now))
    with transaction():
        tasks = db.session.scalars(select(SendTask).where(due).order_by(SendTask.id).limit(limit)
                                   .with_for_update(skip_locked=True)).all()
        claimed = [(t.id, t.status == TaskStatus.SUBMITTING) for t in tasks]
        for task in tasks:
            task.status = TaskStatus.SUBMITTING
            task.claimed_until = now + LEASE
            task.submitted_at = task.submitted_at or now
            task.attempts += 1
            task.updated_at = now
    return claimed


def submit(task_id: int, maybe_sent: bool, gw=None) -> str:
    """Create the WeCom task for one claimed SendTask (or adopt the one an earlier attempt created)."""
    gw = gw or _gateway()
    task = db.session.get(SendTask, task_id)
    targets, body = _message(task)
    since, sender = task.submitted_at, task.sender_userid
    known = set(db.session.scalars(select(SendTask.msgid).where(  # msgids other tasks already own
        SendTask.msgid.is_not(None), SendTask.submitted_at >= since - LOOKUP_MARGIN))) if maybe_sent else set()
    db.session.rollback()  # no transaction stays open while WeCom is called
    found = _find_sent(gw, since, sender, known, targets, body) if maybe_sent else None
    if found is not None:
        msgid, fail_list = found
        log.warning("send task %s: adopted %s created by an attempt whose answer was lost", task_id, msgid)
        return _submitted(task_id, msgid, fail_list)
    try:
        result = gw.add_msg_template(body)
    except WeComNetworkError as exc:  # the request may have reached WeCom: look before sending again
        return _unknown(task_id, exc)
    except WeComError as exc:
        if exc.errcode == -1:
            return _unknown(task_id, exc)
        return _rejected(task_id, exc, targets)
    return _submitted(task_id, result["msgid"], result.get("fail_list") or [])


def _message(task: SendTask) -> tuple[list[str], dict]:
    run = db.session.get(CampaignRun, task.run_id)
    campaign = db.session.get(Campaign, run.campaign_id)
    variant = db.session.scalar(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id,
                                                              CampaignVariant.key == task.variant_key))
    content = (variant.content if variant is not None and variant.content else None) or campaign.content or {}
    # The name synced from WeCom; before the first sync only the userid is known.
    staff_name = db.session.scalar(select(Staff.name).where(Staff.userid == task.sender_userid)) or task.sender_userid
    targets = list(db.session.scalars(select(Delivery.target_key).where(Delivery.send_task_id == task.id)
                                      .order_by(Delivery.id)))
    text = sendrules.render_text(content.get("text") or "", staff_name)
    return targets, sendrules.message(campaign.chat_type, task.sender_userid, targets, text,
                                      content.get("attachments") or [])


def _find_sent(gw, since: datetime, sender: str, known: set[str], targets: list[str],
               body: dict) -> tuple[str, list[str]] | None:
    """The mass message an earlier attempt created for this task, if WeCom has it: (msgid, fail_list)."""
    end = utcnow() + LOOKUP_MARGIN
    start = max(since - LOOKUP_MARGIN, end - MAX_LOOKUP_WINDOW)
    text = (body.get("text") or {}).get("content", "")
    wanted = set(targets)
    for msg in gw.iter_groupmsg_list(body["chat_type"], int(start.timestamp()), int(end.timestamp()),
                                     filter_type=0):
        if msg["msgid"] in known or (msg.get("text") or {}).get("content", "") != text:
            continue
        if [t["userid"] for t in gw.iter_groupmsg_tasks(msg["msgid"])] != [sender]:
            continue
        rows = gw.iter_groupmsg_send_results(msg["msgid"], sender)
        listed = {r.get("external_userid") or r.get("chat_id") for r in rows}
        # Single: every recipient WeCom accepted is listed, so they must be ours. Group: only sent ones are.
        if listed <= wanted and (listed or body["chat_type"] == "group"):
            return msg["msgid"], [t for t in targets if t not in listed] if body["chat_type"] == "single" else []
    return None


def _submitted(task_id: int, msgid: str, fail_list: list[str]) -> str:
    now = utcnow()
    with transaction():
        task = db.session.get(SendTask, task_id, with_for_update=True)
        cancelled = task.status == TaskStatus.CANCELLED  # cancelled while the call was in flight
        task.msgid, task.fail_list = msgid, list(fail_list)
        task.status = TaskStatus.CANCELLED if cancelled else TaskStatus.SUBMITTED
        task.claimed_until, task.error = None, None
        task.next_poll_at = now + sendrules.next_poll_delay(timedelta(0))
        task.updated_at = now
        set_deliveries(task_id, DeliveryStatus.SUBMITTED, None, now)
        if fail_list:
            set_deliveries(task_id, DeliveryStatus.FAILED, "not_friend", now, fail_list)
        advance_run(task.run_id, now)
    if cancelled:
        cancel_on_wecom(task_id)
    return task.status


def _unknown(task_id: int, exc: WeComError) -> str:
    log.warning("send task %s: outcome unknown (%s); will look it up before any new attempt", task_id, exc)
    with transaction():
        task = db.session.get(SendTask, task_id)
        if task.status == TaskStatus.SUBMITTING:
            task.claimed_until = utcnow() + UNKNOWN_RECHECK
            task.error = str(exc)[:2000]
    return TaskStatus.SUBMITTING


def _rejected(task_id: int, exc: WeComError, targets: list[str]) -> str:
    now = utcnow()
    with transaction():
        task = db.session.get(SendTask, task_id)
        if task.status != TaskStatus.SUBMITTING:
            return task.status
        task.error, task.claimed_until, task.updated_at = str(exc)[:2000], None, now
        if isinstance(exc, WeComRateLimited):  # refused before anything was created: try again later
            task.status, task.next_poll_at = TaskStatus.PENDING, now + RATE_LIMITED_RETRY
            return task.status
        task.status, task.next_poll_at = TaskStatus.FAILED, None
        reason = "not_friend" if exc.errcode == NO_SENDABLE_CUSTOMER else "error"
        set_deliveries(task_id, DeliveryStatus.FAILED, reason, now)
        advance_run(task.run_id, now)
    log.warning("send task %s refused by WeCom: %s", task_id, exc)
    return TaskStatus.FAILED


def work_once(limit: int = 20, gw=None) -> int:
    """One worker turn: start a due run, then submit up to `limit` tasks; how much was done."""
    started = start_due_run() is not None
    claimed = claim_tasks(limit)
    for task_id, maybe_sent in claimed:
        try:
            submit(task_id, maybe_sent, gw)
        except Exception:  # leave the task under its lease: the next claim looks it up before sending
            db.session.rollback()
            log.exception("send task %s failed unexpectedly", task_id)
    return int(started) + len(claimed)
