"""The RFM recompute job: match orders to customers, score everyone as of today, store, then write tags to WeCom.

Stages, each committed on its own: `match` (fill external_userid by unionid or remark mobile), `score` (all-or-
nothing: every customer's scores, with the previous run's segment and class kept on the row), `tags` (see
writeback.py). Running it twice on the same orders changes nothing and calls WeCom for nobody.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from flask import Flask
from sqlalchemy import insert, select, update

from app.contacts.models import Customer, FollowRelation
from app.core import settings
from app.core.audit import record
from app.core.background import run_in_background
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.rfm import writeback
from app.rfm.models import CustomerRfmScore, Order, RfmRun
from app.rfm.scoring import PaidOrder, score

log = logging.getLogger("scrm.rfm.recompute")

RUNNING, SUCCEEDED, PARTIAL, FAILED = "running", "succeeded", "partial", "failed"
STATUS_LABELS = {RUNNING: N_("进行中"), SUCCEEDED: N_("成功"), PARTIAL: N_("完成，部分标签未写入"),
                 FAILED: N_("失败")}
STAGE_LABELS = {"match": N_("匹配订单与客户"), "score": N_("计算 RFM"), "tags": N_("写入企业微信标签"),
                "done": N_("完成")}
STAGE_SPAN = {"match": (0, 10), "score": (10, 30), "tags": (30, 100)}
STALE_SECONDS = 120
UPDATE_CHUNK = 1000
COPY_ABOVE = 5000  # PostgreSQL: more rows than this are written by COPY into a temporary table, then one upsert
_COPIED = ("external_userid", "recency_days", "frequency", "monetary_fen", "r_score", "f_score", "m_score", "segment",
           "class8", "previous_segment", "previous_class8", "run_id", "mark_state", "updated_at")


class RecomputeBusy(RuntimeError):
    """Another recompute is running right now."""


def percent(run: RfmRun) -> int:
    if run.stage == "done":
        return 100
    low, high = STAGE_SPAN[run.stage]
    return int(low + (high - low) * (run.done / run.total if run.total else 0))


def latest_run() -> RfmRun | None:
    return db.session.scalars(select(RfmRun).order_by(RfmRun.id.desc()).limit(1)).first()


def begin(started_by: str, as_of: date | None = None) -> RfmRun:
    """A new run as of `as_of` (default: today in the corp timezone); RecomputeBusy while another one runs."""
    now = utcnow()
    with transaction():
        latest = db.session.scalars(select(RfmRun).order_by(RfmRun.id.desc()).limit(1).with_for_update()).first()
        if latest is not None and latest.status == RUNNING and (now - latest.heartbeat_at).total_seconds() < STALE_SECONDS:
            raise RecomputeBusy(f"RFM 重算 #{latest.id} 正在进行中")
        if latest is not None and latest.status == RUNNING:  # interrupted without a word: close it
            latest.status, latest.finished_at = FAILED, now
            latest.error = latest.error or "重算被中断"
        run = RfmRun(status=RUNNING, stage="match", as_of=as_of or datetime.now(settings.corp_timezone()).date(),
                     counts={}, started_by=started_by, started_at=now, heartbeat_at=now)
        db.session.add(run)
        db.session.flush()
        record("rfm.recompute_started", target=f"rfm#{run.id}")
    return run


def execute(run_id: int, progress: Callable[[RfmRun], None] | None = None) -> RfmRun:
    """Run all stages; a failure before the tags stage fails the run and leaves the stored scores as they were."""

    def tick(run: RfmRun) -> None:
        run.heartbeat_at = utcnow()
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
            run.counts = {**run.counts, **store_scores(run)}
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
        log.warning("rfm recompute #%s failed: %r", run_id, exc, exc_info=not isinstance(exc, KeyboardInterrupt))
        db.session.rollback()
        with transaction():
            run = db.session.get(RfmRun, run_id)
            run.status, run.finished_at = FAILED, utcnow()
            run.error = "重算被中断" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, KeyboardInterrupt):
            raise
    return run


def nightly() -> RfmRun | None:
    """The nightly job: rescore everyone as of today and write changed tags; skipped while a run is going."""
    try:
        run = execute(begin("scheduler").id)
    except RecomputeBusy as exc:
        log.info("nightly rfm recompute skipped: %s", exc)
        return None
    if run.status == FAILED:
        raise RuntimeError(f"rfm recompute #{run.id} failed: {run.error}")
    return run


def execute_in_background(app: Flask, run_id: int) -> None:
    """Run `execute` on a thread of this process (the page's start button)."""
    run_in_background(app, "rfm-recompute", execute, run_id)


def normalize_mobile(value: str | None) -> str:
    """Digits only, without a leading +86 / 86 on an 11-digit mainland number."""
    digits = re.sub(r"\D", "", value or "")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def match_orders() -> dict[str, int]:
    """Give orders without external_userid the customer with the same unionid, else the one whose relation
    lists the same mobile (a mobile listed for several customers matches none). Counts by way of matching."""
    open_orders = db.session.execute(select(Order.id, Order.unionid, Order.mobile)
                                     .where(Order.external_userid.is_(None))).all()
    if not open_orders:
        return {"unionid": 0, "mobile": 0, "unmatched": 0}
    unionids = {o.unionid for o in open_orders if o.unionid}
    by_unionid: dict[str, str] = {}
    wanted = sorted(unionids)
    for start in range(0, len(wanted), 500):
        by_unionid.update((u, ext) for u, ext in db.session.execute(
            select(Customer.unionid, Customer.external_userid).where(Customer.unionid.in_(wanted[start:start + 500]))))
    by_mobile: dict[str, set[str]] = {}
    if any(o.mobile for o in open_orders):
        for ext, mobiles in db.session.execute(select(FollowRelation.external_userid, FollowRelation.remark_mobiles)):
            for mobile in mobiles or ():
                if normalize_mobile(mobile):
                    by_mobile.setdefault(normalize_mobile(mobile), set()).add(ext)
    changes, counts = [], Counter(unionid=0, mobile=0, unmatched=0)
    for order in open_orders:
        who = by_unionid.get(order.unionid) if order.unionid else None
        way = "unionid"
        if who is None:
            found = by_mobile.get(normalize_mobile(order.mobile), set()) if order.mobile else set()
            who, way = (next(iter(found)), "mobile") if len(found) == 1 else (None, "unmatched")
        counts[way] += 1
        if who:
            changes.append({"id": order.id, "external_userid": who, "updated_at": utcnow()})
    for start in range(0, len(changes), UPDATE_CHUNK):
        db.session.execute(update(Order), changes[start:start + UPDATE_CHUNK])
    return dict(counts)


def paid_orders(zone) -> list[PaidOrder]:
    rows = db.session.execute(select(Order.order_id, Order.external_userid, Order.amount_fen, Order.paid_at)
                              .where(Order.status == "paid", Order.external_userid.is_not(None)))
    return [PaidOrder(oid, ext, Decimal(fen) / 100, paid_at.astimezone(zone).date()) for oid, ext, fen, paid_at in rows]


def _mark_state(old_state: str | None, segment, class8, tagged_segment, tagged_class8) -> str:
    if (segment, class8) == (tagged_segment, tagged_class8):
        return "done"
    return "failed" if old_state == "failed" else "pending"


def store_scores(run: RfmRun) -> dict:
    """Score every customer with paid orders up to the run's as-of date and store it; the caller commits."""
    scores = score(paid_orders(settings.corp_timezone()), run.as_of)
    run.total = len(scores)
    old = {row.external_userid: row for row in db.session.execute(select(
        CustomerRfmScore.external_userid, CustomerRfmScore.segment, CustomerRfmScore.class8,
        CustomerRfmScore.tagged_segment, CustomerRfmScore.tagged_class8, CustomerRfmScore.mark_state))}
    now = utcnow()
    inserts, updates, moved = [], [], Counter()
    for s in scores:
        values = {"external_userid": s.external_userid, "recency_days": s.recency_days, "frequency": s.frequency,
                  "monetary_fen": int(s.monetary * 100), "r_score": s.r_score, "f_score": s.f_score,
                  "m_score": s.m_score, "segment": s.segment, "class8": s.class8, "run_id": run.id,
                  "updated_at": now}
        before = old.pop(s.external_userid, None)
        if before is None:
            inserts.append({**values, "previous_segment": None, "previous_class8": None, "tagged_segment": None,
                            "tagged_class8": None, "mark_state": "pending", "mark_attempts": 0})
            continue
        if before.segment and before.segment != s.segment:
            moved[f"{before.segment}>{s.segment}"] += 1
        state = _mark_state(before.mark_state, s.segment, s.class8, before.tagged_segment, before.tagged_class8)
        updates.append({**values, "previous_segment": before.segment, "previous_class8": before.class8,
                        "mark_state": state, **({"mark_error": None} if state == "done" else {})})
    for gone in old.values():  # no paid order any more (refunds): no segment, tags to be taken off
        state = _mark_state(gone.mark_state, None, None, gone.tagged_segment, gone.tagged_class8)
        updates.append({"external_userid": gone.external_userid, "recency_days": None, "frequency": 0,
                        "monetary_fen": 0, "r_score": None, "f_score": None, "m_score": None, "segment": None,
                        "class8": None, "previous_segment": gone.segment, "previous_class8": gone.class8,
                        "run_id": run.id, "updated_at": now, "mark_state": state})
    if db.session.get_bind().dialect.name == "postgresql" and len(inserts) + len(updates) > COPY_ABOVE:
        _copy_upsert(inserts, updates)
    else:
        for start in range(0, len(inserts), UPDATE_CHUNK):
            db.session.execute(insert(CustomerRfmScore), inserts[start:start + UPDATE_CHUNK])
        for start in range(0, len(updates), UPDATE_CHUNK):
            db.session.execute(update(CustomerRfmScore), updates[start:start + UPDATE_CHUNK])
    run.done = len(scores)
    return {"customers": len(scores), "new": len(inserts), "unscored": len(old),
            "moved": sum(moved.values()), "movements": dict(moved)}


def _copy_upsert(inserts: list[dict], updates: list[dict]) -> None:
    """PostgreSQL: all score rows in one COPY and one INSERT .. ON CONFLICT; the tag state of known rows is kept
    (an executemany of 100,000 updates took 9 s, this well under one)."""
    cols = ", ".join(_COPIED)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COPIED if c != "external_userid")
    conn = db.session.connection().connection.driver_connection
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE rfm_stage ON COMMIT DROP AS SELECT {cols} FROM customer_rfm_scores WITH NO DATA")
        with cur.copy(f"COPY rfm_stage ({cols}) FROM STDIN") as copy:
            for row in (*inserts, *updates):
                copy.write_row(tuple(row.get(c) for c in _COPIED))
        cur.execute(f"INSERT INTO customer_rfm_scores ({cols}, mark_attempts) "
                    f"SELECT {cols}, 0 FROM rfm_stage "
                    f"ON CONFLICT (external_userid) DO UPDATE SET {assignments}, "
                    "mark_error = CASE WHEN EXCLUDED.mark_state = 'done' THEN NULL "
                    "ELSE customer_rfm_scores.mark_error END")
        cur.execute("DROP TABLE rfm_stage")
