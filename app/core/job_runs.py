"""Run records of one-at-a-time jobs (RFM recompute, rule tags): the latest, a new one that closes an abandoned one,
failing one on an exception, and closing the running one when its job gives up."""
from __future__ import annotations

import logging
from typing import TypeVar

from sqlalchemy import select

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.extensions import db

RUNNING, SUCCEEDED, PARTIAL, FAILED = "running", "succeeded", "partial", "failed"

Run = TypeVar("Run")


def latest(model: type[Run]) -> Run | None:
    return db.session.scalars(select(model).order_by(model.id.desc()).limit(1)).first()


def start(model: type[Run], interrupted: str, audit_action: str, target: str, **fields) -> Run:
    """A new running run of `model` with `fields`, committed and audited. Called only by the run's one-at-a-time job
    (app.jobs), so a latest run still marked running was left by a worker that died: closed as failed
    (`interrupted`)."""
    now = utcnow()
    with transaction():
        last = db.session.scalars(select(model).order_by(model.id.desc()).limit(1).with_for_update()).first()
        if last is not None and last.status == RUNNING:
            last.status, last.finished_at, last.error = FAILED, now, last.error or interrupted
        run = model(status=RUNNING, started_at=now, **fields)
        db.session.add(run)
        db.session.flush()
        record(audit_action, target=f"{target}#{run.id}")
    return run


def fail(model: type[Run], run_id: int, exc: BaseException, interrupted: str, log: logging.Logger, what: str) -> Run:
    """The run stopped on `exc`: logged, the session's work rolled back, the run failed with the exception as its
    error (`interrupted` for a Ctrl-C, which goes on up)."""
    stopped = isinstance(exc, KeyboardInterrupt)
    log.warning("%s #%s failed: %r", what, run_id, exc, exc_info=not stopped)
    db.session.rollback()
    with transaction():
        run = db.session.get(model, run_id)
        run.status, run.finished_at = FAILED, utcnow()
        run.error = interrupted if stopped else f"{type(exc).__name__}: {exc}"
    if stopped:
        raise exc
    return run


def close(model: type[Run], job) -> None:
    """The job driving the running run of `model` ended failed or cancelled for good (app.jobs on_give_up): the run
    fails with the job's end as its error; nothing changes when no run is running (the job closed it itself)."""
    with transaction():
        run = db.session.scalars(select(model).where(model.status == RUNNING).order_by(model.id.desc()).limit(1)
                                 .with_for_update()).first()
        if run is not None:
            run.status, run.finished_at, run.error = FAILED, utcnow(), job.end_note
