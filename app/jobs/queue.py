"""The queue's rules: enqueue (one-at-a-time by key), claim, the dead-worker rule, cancel, retry, progress."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.jobs import kinds
from app.jobs.models import ACTIVE, CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job

log = logging.getLogger("scrm.jobs")

CHANNEL = "scrm_jobs"  # PostgreSQL NOTIFY channel: workers LISTEN and claim at once
HEARTBEAT_SECONDS = 2
LOST_AFTER = timedelta(seconds=30)  # a running job without a heartbeat this long lost its worker
KEEP_SUCCEEDED, KEEP_ENDED = timedelta(days=7), timedelta(days=30)  # then a job's row is deleted (per-minute jobs)
WAKE = threading.Event()  # set on enqueue in this process (and by a worker's LISTEN thread): workers claim now


class JobBusy(UserError):
    """A one-at-a-time job of this kind (or key) is waiting or running already."""

    def __init__(self, job: Job):
        super().__init__(N_("「%(label)s」正在进行中（后台任务 #%(id)s），请等它结束"), label=kinds.get(job.kind).label,
                         id=job.id)
        self.job = job

    def localized(self) -> str:
        return gettext(self.message, label=gettext(self.params["label"]), id=self.params["id"])


class JobStateError(UserError):
    """Retry or cancel asked of a job in a state that does not allow it."""


def enqueue(kind: str, args: dict | None = None, *, requested_by: str, unique: str | None = None,
            run_by: str | None = None) -> Job:
    """A queued job, committed; JobBusy when its key (`unique`, or the kind of a one-at-a-time kind) is taken.
    With `run_by`, the job is claimed by that worker as it is created (a `scrm` command runs it in the foreground)."""
    spec = kinds.get(kind)
    key = unique or (kind if spec.one_at_a_time else None)
    with transaction():
        if key and (existing := active_with_key(key)) is not None:
            raise JobBusy(existing)
        job = Job(kind=kind, args=args or {}, state=QUEUED, unique_key=key, requested_by=requested_by,
                  created_at=(now := utcnow()), max_attempts=spec.max_attempts, time_limit_seconds=spec.time_limit_seconds)
        if run_by:
            job.state, job.worker, job.attempts, job.started_at, job.heartbeat_at = RUNNING, run_by, 1, now, now
        db.session.add(job)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:  # enqueued by another process between the check and the insert
            raise JobBusy(active_with_key(key)) from None
        if not run_by:
            _notify()
    WAKE.set()
    return job


def _notify() -> None:
    """Wake the listening workers when the transaction commits (PostgreSQL); SQLite workers poll."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"NOTIFY {CHANNEL}"))


def active_with_key(key: str) -> Job | None:
    return db.session.scalars(select(Job).where(Job.unique_key == key, Job.state.in_(ACTIVE))).first()


def latest_with_key(key: str) -> Job | None:
    """The newest job of a key, active or not (what a page shows for its domain record)."""
    return db.session.scalars(select(Job).where(Job.unique_key == key).order_by(Job.id.desc()).limit(1)).first()


def claim(worker: str) -> Job | None:
    """The oldest queued job, now running on `worker` (committed); other workers skip the locked row (PostgreSQL),
    and the update only takes a row still queued (SQLite, which locks no rows: a second worker gets nothing)."""
    with transaction():
        job_id = db.session.scalar(select(Job.id).where(Job.state == QUEUED).order_by(Job.id).limit(1)
                                   .with_for_update(skip_locked=True))
        if job_id is None:
            return None
        now = utcnow()
        taken = db.session.execute(update(Job).where(Job.id == job_id, Job.state == QUEUED).values(
            state=RUNNING, worker=worker, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now)).rowcount
    return db.session.get(Job, job_id) if taken else None


def reap() -> int:
    """The one rule for dead work: a running job whose heartbeat stopped is queued again while it has attempts
    left (a cancelled one is cancelled), otherwise failed, saying why; either way given up, its domain is told."""
    now = utcnow()
    ended = []
    with transaction():
        lost = db.session.scalars(select(Job).where(Job.state == RUNNING, Job.heartbeat_at < now - LOST_AFTER)
                                  .with_for_update(skip_locked=True)).all()
        for job in lost:
            note = f"第 {job.attempts} 次执行的进程（{job.worker}）失去心跳"
            if job.cancel_requested:
                job.state, job.finished_at, job.error = CANCELLED, now, f"{note}，已取消"
                ended.append(job)
            elif job.attempts < job.max_attempts:
                job.state, job.worker, job.error = QUEUED, None, f"{note}，已重新排队"
            else:
                job.state, job.finished_at = FAILED, now
                job.error = f"{note}，已执行 {job.attempts} 次，不再重试"
                ended.append(job)
            log.warning("job #%s %s: %s", job.id, job.kind, job.error)
    for job in ended:
        given_up(job)
    if lost and any(job.state == QUEUED for job in lost):
        WAKE.set()
    return len(lost)


def given_up(job: Job) -> None:
    """The job ended failed or cancelled for good (its function raised or was stopped, its time ran out, its worker
    died too often, it was cancelled before it started): its kind's `on_give_up(job)` closes the domain record the
    job drove (a sync run, a recompute ...) with the job's error. Every path to such an end calls this, once; a hook
    leaves a record that is no longer running as it is (the job's function may have closed it itself)."""
    hook = kinds.get(job.kind).on_give_up
    if hook is None:
        return
    try:
        kinds.resolve(hook)(job)
    except Exception:  # noqa: BLE001 (the job's own end is recorded; the domain record is left to its next run)
        log.exception("job #%s %s: closing its record failed", job.id, job.kind)
        db.session.rollback()


def prune() -> int:
    """Delete the rows of jobs that succeeded over KEEP_SUCCEEDED ago, or failed or were cancelled over KEEP_ENDED
    ago (the scheduler alone adds two jobs a minute)."""
    now = utcnow()
    with transaction():
        deleted = db.session.execute(delete(Job).where(
            ((Job.state == SUCCEEDED) & (Job.finished_at < now - KEEP_SUCCEEDED))
            | (Job.state.in_((FAILED, CANCELLED)) & (Job.finished_at < now - KEEP_ENDED)))).rowcount
    return deleted


def finish(job_id: int, worker: str, attempt: int, state: str, *, result=None, error: str | None = None) -> bool:
    """Record how the attempt ended; False when the job is no longer this attempt's (its heartbeat was lost and
    another worker took it over)."""
    with transaction():
        job = db.session.get(Job, job_id, with_for_update=True)
        if job.state != RUNNING or job.worker != worker or job.attempts != attempt:
            return False
        job.state, job.finished_at, job.result = state, utcnow(), result
        job.error = error or job.error  # a success keeps the note of a lost attempt before it
        if state == SUCCEEDED:
            job.progress_done = max(job.progress_done, job.progress_total)
    return True


def cancel(job_id: int, actor: str) -> Job:
    """A waiting job is cancelled now; a running one is asked to stop (it does at its next progress step)."""
    with transaction():
        job = db.session.get(Job, job_id, with_for_update=True)
        if job is None or job.state not in ACTIVE:
            raise JobStateError(N_("只有排队中或进行中的任务可以取消"))
        if job.state == RUNNING and not kinds.get(job.kind).cancellable:
            raise JobStateError(N_("这类任务很快结束，不能中途取消"))
        if job.state == QUEUED:
            job.state, job.finished_at, job.error = CANCELLED, utcnow(), f"{actor} 在开始前取消"
        else:
            job.cancel_requested = True
        record("jobs.cancelled", target=f"job#{job.id}", details={"kind": job.kind, "state": job.state})
    if job.state == CANCELLED:
        given_up(job)
    return job


def retry(job_id: int, actor: str) -> Job:
    """A failed or cancelled job queued again as it was asked (its one-at-a-time key permitting)."""
    with transaction():
        job = db.session.get(Job, job_id, with_for_update=True)
        if job is None or job.state not in (FAILED, CANCELLED):
            raise JobStateError(N_("只有失败或已取消的任务可以重试"))
        if job.unique_key and (existing := active_with_key(job.unique_key)) is not None:
            raise JobBusy(existing)
        job.state, job.attempts, job.cancel_requested, job.worker = QUEUED, 0, False, None
        job.started_at = job.finished_at = job.heartbeat_at = job.result = None
        job.progress_done, job.progress_total, job.progress_message, job.progress_detail = 0, 0, "", {}
        job.error = f"{job.error}（{actor} 已重试）" if job.error else None
        record("jobs.retried", target=f"job#{job.id}", details={"kind": job.kind})
        _notify()
    WAKE.set()
    return job


def progress_of(job: Job) -> dict:
    """What progress.js reads: the state, whether it is still waiting or running, the share done (None when the
    work has no measurable share), the current step, seconds so far, and the domain's counts if any."""
    if job.state == SUCCEEDED:
        percent = 100
    elif job.progress_total:
        percent = min(100, int(100 * job.progress_done / job.progress_total))
    else:
        percent = None
    since = job.started_at or job.created_at
    seconds = int(((job.finished_at or utcnow()) - since).total_seconds())
    return {"state": job.state, "active": job.state in ACTIVE, "percent": percent, "stage": job.progress_message,
            "seconds": seconds, "counts": job.progress_detail.get("counts"), "error": job.error}
