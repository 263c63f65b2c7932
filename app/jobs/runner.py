"""Running a claimed job: the handle its function reports through, the heartbeat thread, how the attempt ends."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from app.core.db import utcnow
from app.extensions import db
from app.jobs import kinds, queue
from app.jobs.models import CANCELLED, FAILED, SUCCEEDED, Job

log = logging.getLogger("scrm.jobs")
REAP_SECONDS = 10  # how often a worker applies the dead-worker rule
PRUNE_SECONDS = 3600  # how often it deletes old finished jobs
TIMED_OUT = "超过时限，已停止"


class JobCancelled(Exception):
    """Raised by `progress` once the job was asked to stop (cancel button, or past its time limit)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class JobHandle:
    """What a job's function gets as `job`: report progress, learn that it should stop. Neither touches the
    database: the heartbeat thread writes the progress and reads the cancel flag, off the job's transactions."""

    def __init__(self, job: Job, observe: Callable[[int, int, str], object] | None = None):
        self.id, self.args, self._observe = job.id, dict(job.args), observe
        self._worker, self._attempt = job.worker, job.attempts
        self._deadline = time.monotonic() + job.time_limit_seconds
        self._lock = threading.Lock()
        self._progress: dict | None = None
        self.stop_reason: str | None = None  # why the job should stop, once it should

    def progress(self, done: int, total: int, message: str = "", **detail) -> None:
        """Where the work stands (`done` of `total`; total 0: no measurable share) and, in `detail`, what the
        progress API passes on (e.g. counts=...). Raises JobCancelled when the job should stop."""
        with self._lock:
            self._progress = {"progress_done": done, "progress_total": total, "progress_message": message[:200],
                              "progress_detail": detail}
        if self._observe:
            self._observe(done, total, message)
        if self.cancel_requested():
            raise JobCancelled(self.stop_reason)

    def cancel_requested(self) -> bool:
        if self.stop_reason is None and time.monotonic() > self._deadline:
            self.stop_reason = TIMED_OUT
        return self.stop_reason is not None

    def _beat(self) -> None:
        """One heartbeat: the latest progress written, the cancel flag read."""
        with self._lock:
            values, self._progress = self._progress or {}, None
        mine = (Job.id == self.id, Job.worker == self._worker, Job.attempts == self._attempt)  # not taken over
        flag = db.session.execute(update(Job).where(*mine).values(heartbeat_at=utcnow(), **values)
                                  .returning(Job.cancel_requested)).scalar()
        db.session.commit()
        if flag and self.stop_reason is None:
            self.stop_reason = "已按要求取消"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def work_once(worker: str) -> int:
    """Apply the dead-worker rule when it is due, then claim and run one job; 1 if there was one."""
    _reap_when_due()
    job = queue.claim(worker)
    if job is None:
        return 0
    run(job, worker)
    return 1


_last = {"reap": 0.0, "prune": 0.0}  # monotonic times this process last did each


def _reap_when_due() -> None:
    now = time.monotonic()
    if now - _last["reap"] >= REAP_SECONDS:
        _last["reap"] = now
        queue.reap()
    if now - _last["prune"] >= PRUNE_SECONDS:
        _last["prune"] = now
        queue.prune()


def run_here(kind: str, args: dict, requested_by: str, observe: Callable[[int, int, str], object]) -> Job:
    """A job run in the foreground of this process (the `scrm` commands), under the same one-at-a-time and
    heartbeat rules as in a worker; JobBusy while one of its kind waits or runs. The job as it ended."""
    worker = worker_name()
    job = queue.enqueue(kind, args, requested_by=requested_by, run_by=worker)
    run(job, worker, observe)
    db.session.expire_all()
    return db.session.get(Job, job.id)


def run(job: Job, worker: str, observe: Callable[[int, int, str], object] | None = None) -> None:
    """Run a claimed job to its end, beating its heartbeat on a thread of its own meanwhile."""
    spec, handle, attempt = kinds.get(job.kind), JobHandle(job, observe), job.attempts
    log.info("job #%s %s started (attempt %s)", job.id, job.kind, attempt)
    done = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(current_app._get_current_object(), handle, done),
                            name=f"job-{job.id}-heartbeat", daemon=True)
    beat.start()
    state, result, error = SUCCEEDED, None, None
    try:
        function = spec.function()
        value = function(job=handle, **handle.args) if spec.wants_handle() else function(**handle.args)
        result = value if isinstance(value, dict) else None
        if handle.cancel_requested():
            state, error = CANCELLED, handle.stop_reason
    except JobCancelled as exc:
        state, error = CANCELLED, exc.reason
    except Exception as exc:  # noqa: BLE001 (the job's record says what stopped it)
        log.warning("job #%s %s failed: %r", job.id, job.kind, exc, exc_info=True)
        state, error = FAILED, str(exc) or type(exc).__name__
        if handle.cancel_requested():  # the stop surfaced as the domain's own failure
            state, error = CANCELLED, handle.stop_reason
    finally:
        db.session.rollback()
        done.set()
        beat.join()
    if state == CANCELLED and error == TIMED_OUT:
        state = FAILED
    if not queue.finish(job.id, worker, attempt, state, result=result, error=error):
        log.warning("job #%s was taken over by another worker; this attempt's end is not recorded", job.id)
    elif state != SUCCEEDED:
        queue.given_up(db.session.get(Job, job.id))
    log.info("job #%s %s ended: %s", job.id, job.kind, state)


def _heartbeat(app: Flask, handle: JobHandle, done: threading.Event) -> None:
    with app.app_context():
        while not done.wait(queue.HEARTBEAT_SECONDS):
            try:
                handle._beat()
            except OperationalError as exc:  # a busy database (on SQLite also the job's own long write): next beat
                log.warning("heartbeat of job #%s not written: %s", handle.id, exc.orig)
                db.session.rollback()
            except Exception:  # noqa: BLE001 (the next beat tries again)
                log.warning("heartbeat of job #%s failed", handle.id, exc_info=True)
                db.session.rollback()
        try:
            handle._beat()  # the last progress, before the attempt's end is recorded
        except Exception:  # noqa: BLE001
            db.session.rollback()
        db.session.remove()


def drain(worker: str = "inline") -> int:
    """Run queued jobs in this thread until none is left (tests, the demo's first steps, `scrm` commands)."""
    ran = 0
    while (job := queue.claim(worker)) is not None:
        run(job, worker)
        ran += 1
    return ran
