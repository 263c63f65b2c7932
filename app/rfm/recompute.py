"""The RFM recompute job: match orders to customers, score everyone as of today, store, then write tags to WeCom.

Stages, each committed on its own: `match` (fill external_userid by unionid or remark mobile), `score` (all-or-
nothing: every customer's scores, with the previous run's segment and class kept on the row), `tags` (see
writeback.py). Running it twice on the same orders changes nothing and calls WeCom for nobody. After a run that
did not fail, the rule tags are evaluated on the new scores under their own run record (app/tags/rules.py).
"""
from __future__ import annotations

import io
import logging
import re
from datetime import date, datetime, time, timedelta
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, text

from app.core import job_runs, settings
from app.core.audit import record
from app.core.db import UTCDateTime, transaction, utcnow
from app.core.job_runs import FAILED, PARTIAL, RUNNING, SUCCEEDED
from app.core.permissions import N_
from app.extensions import db
from app.lifecycle import recompute as lifecycle
from app.rfm import writeback
from app.rfm.fast_score import CLASS_KEYS, SEGMENT_KEYS, score_arrays
from app.rfm.matching import match_orders
from app.rfm.models import Order, RfmRun
from app.tags import rules

log = logging.getLogger("scrm.rfm.recompute")

STATUS_LABELS = {RUNNING: N_("进行中"), SUCCEEDED: N_("成功"), PARTIAL: N_("完成，部分标签未写入"),
                 FAILED: N_("失败")}
STAGE_LABELS = {"match": N_("匹配订单与客户"), "score": N_("计算 RFM"), "tags": N_("写入企业微信标签"),
                "done": N_("完成")}
STAGE_SPAN = {"match": (0, 10), "score": (10, 30), "tags": (30, 100)}
UPDATE_CHUNK = 1000
COPY_ABOVE = 5000  # PostgreSQL: more scores than this are staged by COPY rather than by inserts


def percent(run: RfmRun) -> int:
    if run.stage == "done":
        return 100
    low, high = STAGE_SPAN[run.stage]
    return int(low + (high - low) * (run.done / run.total if run.total else 0))


def latest_run() -> RfmRun | None:
    return job_runs.latest(RfmRun)


def begin(started_by: str, as_of: date | None = None) -> RfmRun:
    """A new run as of `as_of` (default: today in the corp timezone), inside the one-at-a-time job."""
    return job_runs.start(RfmRun, "重算被中断",
                          "rfm.recompute_started", "rfm", stage="match", counts={}, started_by=started_by,
                          as_of=as_of or datetime.now(settings.corp_timezone()).date())


def execute(run_id: int, progress: Callable[[RfmRun], None] | None = None) -> RfmRun:
    """Run all stages; a failure before the tags stage fails the run and leaves the stored scores as they were."""

    def tick(run: RfmRun) -> None:
        if progress:
            progress(run)

    try:
        with transaction():
            run = db.session.get(RfmRun, run_id)
            run.counts = {**run.counts, "matched": match_orders()}
            run.stage, run.done, run.total = "score", 0, 0
        tick(run)
        with transaction():
            run = db.session.get(RfmRun, run_id)
            run.counts = {**run.counts, **store_scores(run, tick)}
            run.stage = "tags"
        tick(run)
        marks, problem = writeback.write_tags(run_id, tick)
        with transaction():
            run = db.session.get(RfmRun, run_id)
            run.counts = {**run.counts, "marks": marks}
            run.stage, run.finished_at = "done", utcnow()
            run.status = PARTIAL if problem or marks.get("failed") else SUCCEEDED
            run.error = problem or (f"{marks['failed']} 位客户的标签写入失败，下次重算时重试" if marks.get("failed") else None)
            record("rfm.recomputed", target=f"rfm#{run.id}", details={"status": run.status})
        tick(run)
    except (Exception, KeyboardInterrupt) as exc:
        run = job_runs.fail(RfmRun, run_id, exc, "重算被中断", log, "rfm recompute")
    if run.status != FAILED:  # every recompute, nightly or started by hand: the rule tags follow the new scores
        rules.follow_recompute(run.started_by)
    lifecycle.follow_rfm(run.started_by)  # the stages follow every day, even when the scores could not be updated
    return run


def run_job(job, started_by: str, as_of: str | None = None) -> dict:
    """The job `rfm.recompute` (the page's button, the nightly run, `scrm recompute-rfm`): rescore everyone as of
    `as_of` (ISO date, default today) and write changed tags; raises when the run failed, failing the job."""
    run = begin(started_by, date.fromisoformat(as_of) if as_of else None)
    run = execute(run.id, lambda current: job.progress(percent(current), 100, STAGE_LABELS[current.stage],
                                                       run_id=current.id))
    if run.status == FAILED:
        raise RuntimeError(f"RFM 重算 #{run.id} 失败：{run.error}")
    return {"run_id": run.id}


def give_up(job) -> None:
    """The job `rfm.recompute` ended failed or cancelled for good: its run, if still running, fails saying so."""
    job_runs.close(RfmRun, job)


def customer_totals(as_of: date, zone) -> pd.DataFrame:
    """Per customer with a paid order on a corp-local day up to `as_of`: recency_days, frequency, monetary_fen.

    One GROUP BY in the database; the local day of the last order is taken in Python's time zone data. On PostgreSQL
    the customers come in key order, as the scores table stores them (see store_scores)."""
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone)  # the first instant after the as-of day
    where = "status = 'paid' AND external_userid IS NOT NULL AND paid_at < :end"
    if _postgres():  # a million rows: COPY out, parsed by pandas
        conn = db.session.connection().connection.driver_connection
        data = io.BytesIO()
        with conn.cursor() as cur, cur.copy(
                "COPY (SELECT external_userid, floor(extract(epoch FROM max(paid_at)))::bigint, count(*), "
                f"sum(amount_fen) FROM orders WHERE {where.replace(':end', '%s')} GROUP BY external_userid "
                "ORDER BY external_userid) TO STDOUT WITH (FORMAT csv)", (end,)) as copy:
            for block in copy:
                data.write(block)
        data.seek(0)
        frame = pd.read_csv(data, header=None, names=_TOTALS, dtype={"external_userid": object},
                            keep_default_na=False) if data.getbuffer().nbytes else pd.DataFrame(columns=_TOTALS,
                                                                                               dtype="int64")
        last = pd.to_datetime(frame.pop("last"), unit="s", utc=True)
    else:
        rows = db.session.execute(select(Order.external_userid, func.max(Order.paid_at), func.count(),
                                         func.sum(Order.amount_fen))
                                  .where(text(where).bindparams(bindparam("end", end, type_=UTCDateTime())))
                                  .group_by(Order.external_userid)).all()
        frame = pd.DataFrame(rows, columns=_TOTALS, dtype=object).astype({"frequency": "int64", "monetary_fen": "int64"})
        last = pd.to_datetime(frame.pop("last"), utc=True)
    local_day = last.dt.tz_convert(zone).dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    frame.insert(1, "recency_days", (np.datetime64(as_of, "D") - local_day).astype(np.int64))
    return frame


_TOTALS = ("external_userid", "last", "frequency", "monetary_fen")


def store_scores(run: RfmRun, tick: Callable[[RfmRun], None] | None = None) -> dict:
    """Score every customer with paid orders up to the run's as-of date and store it; the caller commits.

    The scores go into a staging table (COPY on PostgreSQL); from there one UPDATE rescores the known customers,
    keeping each row's previous segment and class and deciding its mark state, an INSERT adds the new ones, and
    customers without paid orders any more lose theirs. On PostgreSQL the rewrite of each row is a HOT update (see
    models.py) and goes page after page: the stage is in key order, the order in which the first run inserted the
    rows and in which they stay (a HOT update keeps a row on its page), whichever side of the join is hashed."""
    if _postgres():
        for setting in _POSTGRES_JOB_SETTINGS:
            db.session.execute(text(setting))
    totals = customer_totals(run.as_of, settings.corp_timezone())
    run.total = len(totals)
    scored = score_arrays(totals["recency_days"].to_numpy(), totals["frequency"].to_numpy(),
                          totals["monetary_fen"].to_numpy())
    run.done = len(totals) // 2
    if tick:
        tick(run)
    _stage(totals.assign(r_score=scored.r_score, f_score=scored.f_score, m_score=scored.m_score,
                         segment=scored.segment, class8=scored.class8))
    params = {"run_id": run.id, "now": utcnow()}
    rescored = db.session.execute(_RESCORE_KNOWN, params).rowcount
    added = db.session.execute(_INSERT_NEW, params).rowcount if rescored < len(totals) else 0
    unscored = db.session.execute(_UNSCORED, params).rowcount
    db.session.execute(text("DROP TABLE rfm_stage"))
    moved = {f"{old}>{new}": n for old, new, n in db.session.execute(_MOVEMENTS, {"run_id": run.id})}
    run.done = len(totals)
    return {"customers": len(totals), "new": added, "unscored": unscored, "moved": sum(moved.values()),
            "movements": moved}


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


_POSTGRES_JOB_SETTINGS = (  # for the score transaction only
    writeback.BULK_WORK_MEM,  # the GROUP BY of every customer and the join with the stage stay in memory
    "SET LOCAL jit = off",  # compiling the big statements costs seconds and saves none here
    "SET LOCAL enable_nestloop = off",  # never a join row by row: on a new (empty, unanalysed) table the anti-join
    # of the INSERT would rescan the table for each customer, seeing its own new rows (quadratic)
    "SET LOCAL synchronous_commit = off",  # a crash right after commit loses at most a rerunnable recompute
)
# the stage: segment and class as indexes into SEGMENT_KEYS / CLASS_KEYS
_STAGED = ("external_userid", "recency_days", "frequency", "monetary_fen", "r_score", "f_score", "m_score", "segment",
           "class8")


def _key_of(column: str, keys) -> str:
    """SQL for the key whose index the stage's `column` holds (the keys are the code's own identifiers)."""
    return f"CASE n.{column} " + " ".join(f"WHEN {i} THEN '{key}'" for i, key in enumerate(keys)) + " END"


_NEW_VALUES = {**{c: f"n.{c}" for c in _STAGED[1:7]}, "segment": _key_of("segment", SEGMENT_KEYS),
               "class8": _key_of("class8", CLASS_KEYS)}
_TAGS_RIGHT = f"{_NEW_VALUES['segment']} = s.tagged_segment AND {_NEW_VALUES['class8']} = s.tagged_class8"
_MARK_STATE = "CASE WHEN {right} THEN 'done' WHEN s.mark_state = 'failed' THEN 'failed' ELSE 'pending' END"
_MARK_ERROR = "CASE WHEN {right} THEN NULL ELSE s.mark_error END"
_RESCORE_KNOWN = text(  # a known row keeps its tag state: done when WeCom carries its tags, failed stays failed
    f"UPDATE customer_rfm_scores AS s SET {', '.join(f'{c} = {v}' for c, v in _NEW_VALUES.items())}, "
    "previous_segment = s.segment, previous_class8 = s.class8, "
    f"mark_state = {_MARK_STATE.format(right=_TAGS_RIGHT)}, mark_error = {_MARK_ERROR.format(right=_TAGS_RIGHT)}, "
    "run_id = :run_id, updated_at = :now FROM rfm_stage AS n WHERE n.external_userid = s.external_userid"
).bindparams(bindparam("now", type_=UTCDateTime()))
_INSERT_NEW = text(
    f"INSERT INTO customer_rfm_scores (external_userid, {', '.join(_NEW_VALUES)}, mark_state, mark_attempts, run_id, "
    f"updated_at) SELECT n.external_userid, {', '.join(_NEW_VALUES.values())}, 'pending', 0, :run_id, :now "
    "FROM rfm_stage AS n "
    "WHERE NOT EXISTS (SELECT 1 FROM customer_rfm_scores AS s WHERE s.external_userid = n.external_userid)"
).bindparams(bindparam("now", type_=UTCDateTime()))
_UNTAGGED = "s.tagged_segment IS NULL AND s.tagged_class8 IS NULL"
_UNSCORED = text(  # no paid order any more (refunds): no segment, tags to be taken off
    "UPDATE customer_rfm_scores AS s SET recency_days = NULL, frequency = 0, monetary_fen = 0, r_score = NULL, "
    "f_score = NULL, m_score = NULL, segment = NULL, class8 = NULL, previous_segment = s.segment, "
    f"previous_class8 = s.class8, run_id = :run_id, updated_at = :now, "
    f"mark_state = {_MARK_STATE.format(right=_UNTAGGED)}, mark_error = {_MARK_ERROR.format(right=_UNTAGGED)} "
    "WHERE s.run_id <> :run_id"
).bindparams(bindparam("now", type_=UTCDateTime()))
_MOVEMENTS = text("SELECT previous_segment, segment, count(*) FROM customer_rfm_scores WHERE run_id = :run_id "
                  "AND previous_segment IS NOT NULL AND segment IS NOT NULL AND previous_segment <> segment "
                  "GROUP BY previous_segment, segment ORDER BY previous_segment, segment")


def _stage(totals: pd.DataFrame) -> None:
    """The new scores in a temporary table `rfm_stage`: COPY on PostgreSQL above COPY_ABOVE rows, else inserts."""
    db.session.execute(text("CREATE TEMP TABLE rfm_stage (external_userid VARCHAR(64) NOT NULL, "
                            "recency_days INTEGER, frequency INTEGER, monetary_fen BIGINT, r_score SMALLINT, "
                            "f_score SMALLINT, m_score SMALLINT, segment SMALLINT, class8 SMALLINT)"))
    columns = [totals[c].tolist() for c in _STAGED]
    if _postgres() and len(totals) > COPY_ABOVE:
        conn = db.session.connection().connection.driver_connection
        with conn.cursor() as cur, cur.copy(f"COPY rfm_stage ({', '.join(_STAGED)}) FROM STDIN") as copy:
            if any(_COPY_SPECIAL.search(who) for who in columns[0]):
                for row in zip(*columns):
                    copy.write_row(row)
            else:  # plain ids: the text format written at once
                copy.write("".join([f"{e}\t{r}\t{f}\t{m}\t{rs}\t{fs}\t{ms}\t{seg}\t{cls}\n"
                                    for e, r, f, m, rs, fs, ms, seg, cls in zip(*columns)]))
        db.session.execute(text("ANALYZE rfm_stage"))  # the joins with it are planned for its real size
        return
    rows = [dict(zip(_STAGED, row)) for row in zip(*columns)]
    insert_row = text(f"INSERT INTO rfm_stage ({', '.join(_STAGED)}) VALUES ({', '.join(':' + c for c in _STAGED)})")
    for start in range(0, len(rows), UPDATE_CHUNK):
        db.session.execute(insert_row, rows[start:start + UPDATE_CHUNK])


_COPY_SPECIAL = re.compile(r"[\t\n\r\\]")
