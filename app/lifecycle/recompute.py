"""The daily stage recompute: every customer's stage as of a corp-local day, set-based, with its movements.

One transaction: the stages of all customers go into a temporary table (one statement over the enabled signals),
then the movements of those whose stage changed are inserted, their rows updated, new customers added; customers
whose stage and last interaction did not change are not written at all. Runs after each RFM recompute (the value
filters read its scores) and when the settings change; the owed WeCom tags follow in the job `lifecycle.tags`.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.types import Date

from app import jobs
from app.core import job_runs, settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.job_runs import FAILED, RUNNING, SUCCEEDED
from app.core.permissions import N_
from app.extensions import db
from app.lifecycle import config, movements
from app.lifecycle.models import LOST, LifecycleRun
from app.lifecycle.stages import bound, entered_sql, stage_sql, window

log = logging.getLogger("scrm.lifecycle.recompute")
STATUS_LABELS = {RUNNING: N_("进行中"), SUCCEEDED: N_("成功"), FAILED: N_("失败")}
NEW = "lifecycle_new"
_POSTGRES_SETTINGS = (  # for the recompute's transaction only
    "SET LOCAL work_mem = '256MB'",  # the aggregate over every signal and the joins with the stages stay in memory
    "SET LOCAL jit = off",  # compiling the big statements costs seconds and saves none here
    "SET LOCAL enable_nestloop = off",  # never row by row: on a fresh (unanalysed) stages table the anti-join of the
    # INSERT would rescan it for each customer, seeing its own new rows (quadratic)
    "SET LOCAL synchronous_commit = off",  # a crash right after commit loses at most a rerunnable recompute
)
_DAY = bindparam("day", type_=Date())
_DIFFERS = {"postgresql": "s.last_interaction_at IS DISTINCT FROM n.last_at",
            "sqlite": "s.last_interaction_at IS NOT n.last_at"}
_MARK = (f"CASE WHEN n.stage = '{LOST}' OR n.stage = s.tagged_stage THEN 'done' "
         "WHEN s.mark_state = 'failed' THEN 'failed' ELSE 'pending' END")  # movements.owed_state, in SQL


def _statements(dialect: str, entered: str) -> tuple[str, ...]:
    """The movements, the changed rows, the new customers (their first stage `since` the day `entered` computes)."""
    return (
        # the movements first, while the stages table still holds the stages they leave
        "INSERT INTO lifecycle_movements (external_userid, from_stage, to_stage, day, at, cause) "
        f"SELECT n.external_userid, s.stage, n.stage, :day, :now, :cause FROM {NEW} n "
        "LEFT JOIN lifecycle_stages s ON s.external_userid = n.external_userid "
        "WHERE s.stage IS NULL OR s.stage <> n.stage",
        f"UPDATE lifecycle_stages AS s SET stage = n.stage, last_interaction_at = n.last_at, updated_at = :now, "
        "since = CASE WHEN s.stage = n.stage THEN s.since ELSE :day END, "
        f"tagged_stage = CASE WHEN n.stage = '{LOST}' THEN NULL ELSE s.tagged_stage END, "
        f"mark_state = CASE WHEN s.stage = n.stage THEN s.mark_state ELSE {_MARK} END, "
        f"mark_error = CASE WHEN s.stage = n.stage OR ({_MARK}) <> 'done' THEN s.mark_error END "
        f"FROM {NEW} n WHERE n.external_userid = s.external_userid AND (s.stage <> n.stage OR {_DIFFERS[dialect]})",
        "INSERT INTO lifecycle_stages (external_userid, stage, since, last_interaction_at, tagged_stage, mark_state, "
        f"updated_at) SELECT n.external_userid, n.stage, {entered}, n.last_at, NULL, "
        f"CASE WHEN n.stage = '{LOST}' THEN 'done' ELSE 'pending' END, :now FROM {NEW} n "
        "WHERE NOT EXISTS (SELECT 1 FROM lifecycle_stages s WHERE s.external_userid = n.external_userid)",
    )


def apply_all(as_of: date, cause: str, now: datetime | None = None) -> dict[str, Any]:
    """Within the caller's transaction: every customer's stage as of `as_of`; returns the counts and movements."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        for setting in _POSTGRES_SETTINGS:
            db.session.execute(text(setting))
    current = config.current()
    sql, params = stage_sql(current, window(as_of, current["thresholds"], settings.corp_timezone()), only=False)
    db.session.execute(text(f"DROP TABLE IF EXISTS {NEW}"))
    db.session.execute(bound(f"CREATE TEMP TABLE {NEW} AS {sql}", params), params)
    if dialect == "postgresql":
        db.session.execute(text(f"ANALYZE {NEW}"))
    movements.lock()
    before = movements.last_id()
    values = {"day": as_of, "now": now, "cause": cause, "zone": settings.corp_timezone().key}
    entered = entered_sql(dialect, current["thresholds"])
    insert_moves, update_rows, insert_rows = (bound(s, values).bindparams(_DAY)
                                              for s in _statements(dialect, entered))
    db.session.execute(insert_moves, values)
    last = movements.last_id()
    updated = db.session.execute(update_rows, values).rowcount
    added = db.session.execute(insert_rows, values).rowcount
    customers = db.session.execute(text(f"SELECT count(*) FROM {NEW}")).scalar()
    db.session.execute(text(f"DROP TABLE {NEW}"))
    moved = {f"{old or ''}>{new}": n for old, new, n in db.session.execute(text(
        "SELECT from_stage, to_stage, count(*) FROM lifecycle_movements WHERE id > :a AND id <= :b "
        "GROUP BY from_stage, to_stage ORDER BY from_stage, to_stage"), {"a": before, "b": last})}
    movements.notify(before, last)
    return {"customers": customers, "new": added, "updated": updated, "moved": sum(moved.values()),
            "movements": moved}


def begin(started_by: str, as_of: date | None = None) -> LifecycleRun:
    return job_runs.start(LifecycleRun, "重算被中断", "lifecycle.recompute_started", "lifecycle", stage="stages",
                          counts={}, started_by=started_by,
                          as_of=as_of or datetime.now(settings.corp_timezone()).date())


def execute(run_id: int, cause: str = "daily") -> LifecycleRun:
    """Recompute every stage for the run's day; a failure changes no stage and fails the run with its reason."""
    try:
        with transaction():
            run = db.session.get(LifecycleRun, run_id)
            run.counts = apply_all(run.as_of, cause)
            run.total = run.done = run.counts["customers"]
            run.status, run.stage, run.finished_at = SUCCEEDED, "done", utcnow()
            record("lifecycle.recomputed", target=f"lifecycle#{run.id}",
                   details={k: v for k, v in run.counts.items() if k != "movements"})
    except (Exception, KeyboardInterrupt) as exc:
        run = job_runs.fail(LifecycleRun, run_id, exc, "重算被中断", log, "lifecycle recompute")
    return run


def run_job(started_by: str, as_of: str | None = None, cause: str = "daily") -> dict:
    """The job `lifecycle.recompute` (after every RFM recompute, the page's button, saved settings); then the owed
    tags are written by `lifecycle.tags`."""
    run = execute(begin(started_by, date.fromisoformat(as_of) if as_of else None).id, cause)
    if run.status == FAILED:
        raise RuntimeError(f"生命周期重算 #{run.id} 失败：{run.error}")
    follow(started_by, "lifecycle.tags")
    return {"run_id": run.id, "moved": run.counts.get("moved", 0)}


def follow(started_by: str, kind: str, args: dict | None = None) -> None:
    """Enqueue a lifecycle job (outside any transaction); one already waiting or running does the same work."""
    try:
        jobs.enqueue(kind, args or {"started_by": started_by}, requested_by=started_by)
    except jobs.JobBusy as exc:
        log.info("%s not enqueued: #%s is %s", kind, exc.job.id, exc.job.state)


def follow_rfm(started_by: str) -> None:
    """Call right after an RFM recompute (whatever its outcome: the days move on regardless)."""
    follow(started_by, "lifecycle.recompute", {"started_by": started_by, "cause": "daily"})
