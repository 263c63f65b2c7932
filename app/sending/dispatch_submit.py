"""Submitting a batch of claimed send tasks: lost answers looked up first, new calls side by side, answers saved together."""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import select, update

from app.core.db import transaction, utcnow
from app.media import service as media
from app.extensions import db
from app.sending import sendrules
from app.sending.models import Delivery, DeliveryStatus, Send, SendTask, TaskStatus
from app.sending.polling import advance_run, cancel_on_wecom, set_deliveries
from app.wecom.errors import WeComError, WeComNetworkError, WeComRateLimited

log = logging.getLogger("scrm.sending.dispatch")

SUBMIT_THREADS = 8                           # add_msg_template calls in flight at once per batch
CALL_WINDOW = timedelta(minutes=2)           # no call starts later than this after the claim (lease: 5 min)
UNKNOWN_RECHECK = timedelta(seconds=30)      # after a lost answer, look the message up this much later
RATE_LIMITED_RETRY = timedelta(minutes=1)
LOOKUP_MARGIN = timedelta(minutes=2)         # clock difference allowed between us and WeCom
MAX_LOOKUP_WINDOW = timedelta(days=30)       # get_groupmsg_list_v2 accepts at most one month
NO_SENDABLE_CUSTOMER = 41048

SUBMITTED, UNKNOWN, REJECTED = "submitted", "unknown", "rejected"


@dataclass
class Job:
    """One claimed task on its way to WeCom, and what came back (no outcome: nothing known, nothing written)."""

    task_id: int
    run_id: int
    sender: str
    since: datetime           # the first attempt
    maybe_sent: bool          # an earlier attempt may have reached WeCom
    targets: list[str]
    body: dict
    outcome: str | None = None
    msgid: str | None = None
    fail_list: list[str] = field(default_factory=list)
    error: WeComError | None = None

    def answer(self, outcome: str, msgid: str | None = None, fail_list=(), error: WeComError | None = None):
        self.outcome, self.msgid, self.fail_list, self.error = outcome, msgid, list(fail_list), error


def _gateway():
    from app.wecom.connection import gateway

    return gateway()


def submit(claimed: list[tuple[int, bool]], gw=None) -> dict[int, str]:
    """Create the WeCom tasks of claimed SendTasks (or adopt those earlier attempts created); task id -> status.

    No transaction stays open while WeCom is called. Each claimed task is called at most once here, and only
    while its lease is far from over; whatever has no answer stays "submitting" for the lookup after its lease."""
    if not claimed:
        return {}
    gw = gw or _gateway()
    last_call = time.monotonic() + CALL_WINDOW.total_seconds()
    jobs = _prepare(claimed)
    known = _known_msgids(jobs)
    db.session.rollback()
    _recover(gw, [j for j in jobs if j.maybe_sent], known, last_call)
    fresh = [j for j in jobs if not j.maybe_sent]
    if fresh:
        with ThreadPoolExecutor(max_workers=min(SUBMIT_THREADS, len(fresh)),
                                thread_name_prefix="add_msg_template") as pool:
            for _ in pool.map(lambda job: _call(gw, job, last_call), fresh):
                pass
    return _record(jobs)


# -- reading the batch --------------------------------------------------------------------------------------

def _prepare(claimed: list[tuple[int, bool]]) -> list[Job]:
    """The batch's messages from a handful of queries: tasks with their content as cut, chat types, targets."""
    maybe = dict(claimed)
    ids = sorted(maybe)
    tasks = db.session.execute(select(SendTask.id, SendTask.run_id, SendTask.sender_userid, SendTask.content,
                                      SendTask.submitted_at).where(SendTask.id.in_(ids))
                               .order_by(SendTask.id)).all()
    chat_types = dict(db.session.execute(
        select(Send.id, Send.chat_type).where(Send.id.in_(sorted({t.run_id for t in tasks})))).all())
    rows = db.session.execute(select(Delivery.send_task_id, Delivery.target_key)
                              .where(Delivery.send_task_id.in_(ids)).order_by(Delivery.send_task_id, Delivery.id))
    targets = {task_id: [r.target_key for r in group] for task_id, group in groupby(rows, key=lambda r: r.send_task_id)}
    jobs = []
    for t in tasks:
        content = t.content or {}
        mine = targets.get(t.id, [])
        body = sendrules.message(chat_types[t.run_id], t.sender_userid, mine, content.get("text") or "",
                                 media.resolve_for_send(content.get("attachments") or []))  # ids valid now
        jobs.append(Job(t.id, t.run_id, t.sender_userid, t.submitted_at, maybe[t.id], mine, body))
    return jobs


def _known_msgids(jobs: list[Job]) -> set[str]:
    """Msgids our tasks already own, from the earliest lookup window of the batch on (no lookup: none needed)."""
    since = min((j.since for j in jobs if j.maybe_sent), default=None)
    if since is None:
        return set()
    return set(db.session.scalars(select(SendTask.msgid).where(
        SendTask.msgid.is_not(None), SendTask.submitted_at >= since - LOOKUP_MARGIN)))


# -- talking to WeCom ---------------------------------------------------------------------------------------

def _call(gw, job: Job, last_call: float) -> None:
    """add_msg_template for one task (in a pool thread: no database here)."""
    if time.monotonic() > last_call:  # the lease may end before the answer: leave the task to the lookup
        log.warning("send task %s: not called, its batch ran out of time", job.task_id)
        return
    try:
        result = gw.add_msg_template(job.body)
    except WeComNetworkError as exc:  # the request may have reached WeCom: look before sending again
        job.answer(UNKNOWN, error=exc)
    except WeComError as exc:
        job.answer(UNKNOWN if exc.errcode == -1 else REJECTED, error=exc)
    except Exception:  # left under its lease: the claim after it looks the message up before sending
        log.exception("send task %s failed unexpectedly", job.task_id)
    else:
        job.answer(SUBMITTED, result["msgid"], result.get("fail_list") or [])


def _recover(gw, jobs: list[Job], known: set[str], last_call: float) -> None:
    """Tasks whose earlier attempt may have reached WeCom, one after another: adopt the message it created, or
    send when WeCom has none. The corp's message list is read once per chat type for the whole batch."""
    listings: dict[str, list[dict] | WeComError] = {}
    senders: dict[str, list[str]] = {}
    for job in jobs:
        chat_type = job.body["chat_type"]
        try:
            if chat_type not in listings:
                listings[chat_type] = _listing(gw, chat_type, min(j.since for j in jobs))
            found = _find_sent(gw, job, listings[chat_type], known, senders)
        except WeComError as exc:  # could not look: never send blind, look again shortly
            job.answer(UNKNOWN, error=exc)
            continue
        if found is None:
            _call(gw, job, last_call)
            if job.outcome != SUBMITTED:
                continue
        else:
            log.warning("send task %s: adopted %s created by an attempt whose answer was lost", job.task_id, found[0])
            job.answer(SUBMITTED, *found)
        known.add(job.msgid)  # a later task of this batch may not adopt it too


def _listing(gw, chat_type: str, since: datetime) -> list[dict]:
    end = utcnow() + LOOKUP_MARGIN
    start = max(since - LOOKUP_MARGIN, end - MAX_LOOKUP_WINDOW)
    return list(gw.iter_groupmsg_list(chat_type, int(start.timestamp()), int(end.timestamp()), filter_type=0))


def _find_sent(gw, job: Job, listing: list[dict], known: set[str],
               senders: dict[str, list[str]]) -> tuple[str, list[str]] | None:
    """The corp message an earlier attempt created for this task, if WeCom has it: (msgid, fail_list)."""
    start = int((job.since - LOOKUP_MARGIN).timestamp())
    text = (job.body.get("text") or {}).get("content", "")
    wanted = set(job.targets)
    single = job.body["chat_type"] == "single"
    for msg in listing:
        if (msg["msgid"] in known or int(msg.get("create_time") or 0) < start
                or (msg.get("text") or {}).get("content", "") != text):
            continue
        if msg["msgid"] not in senders:
            senders[msg["msgid"]] = [t["userid"] for t in gw.iter_groupmsg_tasks(msg["msgid"])]
        if senders[msg["msgid"]] != [job.sender]:
            continue
        listed = {r.get("external_userid") or r.get("chat_id")
                  for r in gw.iter_groupmsg_send_results(msg["msgid"], job.sender)}
        # Single: every recipient WeCom accepted is listed, so they must be ours. Group: only sent ones are.
        if listed <= wanted and (listed or not single):
            return msg["msgid"], [t for t in job.targets if t not in listed] if single else []
    return None


# -- saving the answers -------------------------------------------------------------------------------------

def _record(jobs: list[Job]) -> dict[int, str]:
    """Every answer of the batch in one transaction, in a few statements whatever the batch size."""
    now = utcnow()
    answered = [j for j in jobs if j.outcome]
    statuses = {j.task_id: TaskStatus.SUBMITTING for j in jobs}
    if not answered:
        return statuses
    with transaction():
        current = dict(db.session.execute(select(SendTask.id, SendTask.status).where(
            SendTask.id.in_([j.task_id for j in answered])).with_for_update()).all())
        statuses.update(current)
        submitted = [j for j in answered if j.outcome == SUBMITTED]
        for job in submitted:  # a task cancelled while its call was in flight stays cancelled
            if current[job.task_id] != TaskStatus.CANCELLED:
                statuses[job.task_id] = TaskStatus.SUBMITTED
        _save_submitted(submitted, statuses, now)
        # Unknown or refused: only a task still ours (a cancel may have moved it on meanwhile).
        ours = [j for j in answered if j.outcome != SUBMITTED and current[j.task_id] == TaskStatus.SUBMITTING]
        _save_unknown([j for j in ours if j.outcome == UNKNOWN], now)
        refused = [j for j in ours if j.outcome == REJECTED]
        _save_refused(refused, statuses, now)
        for run_id in sorted({j.run_id for j in submitted + refused}):
            advance_run(run_id, now)
    for job in submitted:
        if statuses[job.task_id] == TaskStatus.CANCELLED:
            cancel_on_wecom(job.task_id)
    return statuses


def _save_submitted(jobs: list[Job], statuses: dict[int, str], now: datetime) -> None:
    if not jobs:
        return
    next_poll = now + sendrules.next_poll_delay(timedelta(0))
    db.session.execute(update(SendTask), [
        dict(id=j.task_id, msgid=j.msgid, fail_list=j.fail_list, status=statuses[j.task_id], claimed_until=None,
             error=None, next_poll_at=next_poll, updated_at=now) for j in jobs])
    set_deliveries([j.task_id for j in jobs], DeliveryStatus.SUBMITTED, None, now)
    for job in jobs:
        if job.fail_list:
            set_deliveries([job.task_id], DeliveryStatus.FAILED, "not_friend", now, job.fail_list)


def _save_unknown(jobs: list[Job], now: datetime) -> None:
    for job in jobs:
        log.warning("send task %s: outcome unknown (%s); will look it up before any new attempt",
                    job.task_id, job.error)
    if jobs:
        db.session.execute(update(SendTask), [dict(id=j.task_id, claimed_until=now + UNKNOWN_RECHECK,
                                                   error=str(j.error)[:2000]) for j in jobs])


def _save_refused(jobs: list[Job], statuses: dict[int, str], now: datetime) -> None:
    """Refused by WeCom: rate limited (nothing was created) is tried again later; anything else fails its rows."""
    rows = []
    for job in jobs:
        retry = isinstance(job.error, WeComRateLimited)
        statuses[job.task_id] = TaskStatus.PENDING if retry else TaskStatus.FAILED
        rows.append(dict(id=job.task_id, status=statuses[job.task_id], error=str(job.error)[:2000],
                         claimed_until=None, updated_at=now, next_poll_at=now + RATE_LIMITED_RETRY if retry else None))
        if not retry:
            log.warning("send task %s refused by WeCom: %s", job.task_id, job.error)
            reason = "not_friend" if job.error.errcode == NO_SENDABLE_CUSTOMER else "error"
            set_deliveries([job.task_id], DeliveryStatus.FAILED, reason, now)
    if rows:
        db.session.execute(update(SendTask), rows)
