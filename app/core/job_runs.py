"""Run records of the jobs that allow one run at a time (RFM recompute, rule tags): start, busy, abandoned, nightly."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from sqlalchemy import select

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.extensions import db

log = logging.getLogger("scrm.jobs")

RUNNING, SUCCEEDED, PARTIAL, FAILED = "running", "succeeded", "partial", "failed"
STALE_SECONDS = 120  # a running run without a heartbeat for this long was abandoned (its process died)

Run = TypeVar("Run")


def latest(model: type[Run]) -> Run | None:
    return db.session.scalars(select(model).order_by(model.id.desc()).limit(1)).first()


def start(model: type[Run], busy: Callable[[Run], Exception], interrupted: str, audit_action: str, target: str,
          **fields) -> Run:
    """A new running run of `model` with `fields`, committed and audited; raises `busy(latest)` while the latest run
    is alive, and closes it as failed (`interrupted`) when its heartbeat stopped."""
    now = utcnow()
    with transaction():
        last = db.session.scalars(select(model).order_by(model.id.desc()).limit(1).with_for_update()).first()
        if last is not None and last.status == RUNNING:
            if (now - last.heartbeat_at).total_seconds() < STALE_SECONDS:
                raise busy(last)
            last.status, last.finished_at, last.error = FAILED, now, last.error or interrupted
        run = model(status=RUNNING, started_at=now, heartbeat_at=now, **fields)
        db.session.add(run)
        db.session.flush()
        record(audit_action, target=f"{target}#{run.id}")
    return run


def nightly(name: str, begin: Callable[[], Run], execute: Callable[[int], Run],
            busy: type[Exception]) -> Run | None:
    """The scheduler's entry point: a run begun and executed, None when `begin` says `busy`; raises when the run
    failed, so that the scheduler records the job as failed."""
    try:
        run = execute(begin().id)
    except busy as exc:
        log.info("nightly %s skipped: %s", name, exc)
        return None
    if run.status == FAILED:
        raise RuntimeError(f"{name} #{run.id} failed: {run.error}")
    return run
