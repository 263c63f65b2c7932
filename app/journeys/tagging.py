"""The tag step: a corp tag added to or removed from the customer, through app/tags/marking only.

Running the step writes one owed mark per due entry (held-out entries are only logged, as for the other steps) and
moves the entry on at once: a mark WeCom is slow to take, or refuses, never holds up the customer's later steps.
The job `journeys.tags` (enqueued by the minute tick while marks are owed) sends them, one customer's oldest owed
mark per pass, to every current relation that does not carry the change yet, so a relation that took it is never
marked twice (a retry, a second journey wanting the same tag). WeCom's answers, as marking.py reads them:

- busy or unreachable (RETRY): still owed, tried again at the next run, up to MAX_ATTEMPTS, then failed;
- budget used up, 45009 or credentials refused (DEFERRED): still owed, not counted as an attempt; the run stops;
- the relation is gone (GONE): nothing left to mark on it;
- any other refusal (FAILED): failed with WeCom's error, which the journey's results show per step.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import case, func, insert, literal, select, update

from app import jobs
from app.contacts.models import FollowRelation
from app.core.db import UTCDateTime, transaction, utcnow
from app.extensions import db
from app.journeys.models import Journey, JourneyEntry as E, JourneyStepLog as L, JourneyTagMark as M
from app.tags import marking
from app.tags.marking import Outcome
from app.wecom.connection import NotConfigured

log = logging.getLogger("scrm.journeys.tagging")
MAX_ATTEMPTS = 5
PASS = 500  # customers per pass
NO_RELATION = "客户已没有跟进成员，无法打标签"


def plan(journey: Journey, index: int, step: dict, where: list, now: datetime) -> None:
    """The step for every due entry (caller's transaction): owed marks for those not held out, the step's log rows
    (tag / held), and the entries' advance."""
    at = literal(now, UTCDateTime())
    owed = select(literal(journey.id), E.id, literal(step["id"]), E.external_userid, literal(step["tag_id"]),
                  literal(step["action"]), literal("pending"), literal(0), at, at).where(*where, ~E.held)
    db.session.execute(insert(M).from_select(["journey_id", "entry_id", "step_id", "external_userid", "tag_id",
                                              "action", "state", "attempts", "created_at", "updated_at"], owed))
    outcome = case((E.held, literal("held")), else_=literal("tag"))
    rows = select(literal(journey.id), E.id, literal(index), literal(step["id"]), outcome, at).where(*where)
    db.session.execute(insert(L).from_select(["journey_id", "entry_id", "step_index", "step_id", "outcome", "at"],
                                             rows))
    db.session.execute(update(E).where(*where).values(step_index=index + 1),
                       execution_options={"synchronize_session": False})


def owed_count() -> int:
    return db.session.scalar(select(func.count()).select_from(M).where(M.state == "pending")) or 0


def _next_marks() -> list[M]:
    """The oldest owed mark of each customer (so one pass never both adds and removes a tag on one relation)."""
    first = (select(func.min(M.id)).where(M.state == "pending").group_by(M.external_userid)
             .order_by(func.min(M.id)).limit(PASS))
    return list(db.session.scalars(select(M).where(M.id.in_(first)).order_by(M.external_userid)))


def _changes(marks: list[M]) -> tuple[list[marking.Change], list[M]]:
    """The relation changes still needed, and the marks that need none (done already, or no relation left)."""
    relations: dict[str, list[FollowRelation]] = {}
    for relation in db.session.scalars(select(FollowRelation).where(
            FollowRelation.external_userid.in_([m.external_userid for m in marks]), FollowRelation.ended_at.is_(None))
            .order_by(FollowRelation.external_userid, FollowRelation.userid)):
        relations.setdefault(relation.external_userid, []).append(relation)
    changes, settled = [], []
    for mark in marks:
        mine = relations.get(mark.external_userid, [])
        needed = [r for r in mine if (mark.tag_id in (r.tag_ids or [])) != (mark.action == "add")]
        changes += [marking.Change(r.userid, mark.external_userid, (mark.tag_id,) if mark.action == "add" else (),
                                   (mark.tag_id,) if mark.action == "remove" else ()) for r in needed]
        if not needed:
            settled.append(mark)
            mark.state, mark.error = ("done", None) if mine else ("failed", NO_RELATION)
    return changes, settled


def _settle(mark: M, results: list[marking.Result], now: datetime) -> str:
    mark.updated_at = now
    if any(r.outcome is Outcome.DEFERRED for r in results):
        return "deferred"  # not reached before WeCom's stop: not the mark's fault, no attempt counted
    # WeCom's answers, not who got them: the results page counts customers per answer
    errors = "；".join(sorted({r.error for r in results if r.outcome in (Outcome.FAILED, Outcome.RETRY)}))
    if any(r.outcome is Outcome.FAILED for r in results):
        mark.state, mark.error = "failed", errors[:2000]
    elif any(r.outcome is Outcome.RETRY for r in results):
        mark.attempts += 1
        mark.error = errors[:2000]
        mark.state = "failed" if mark.attempts >= MAX_ATTEMPTS else "pending"
    else:
        mark.state, mark.error = "done", None
    return mark.state


def send_owed() -> dict:
    """The job `journeys.tags`: send owed marks, a pass of customers at a time, until none is owed or WeCom stops
    us; counts by outcome and the reason it stopped, if it did."""
    counts = {"done": 0, "pending": 0, "failed": 0, "deferred": 0}
    while True:
        with transaction():
            marks = _next_marks()
            if not marks:
                return {**counts, "stopped": None}
            changes, settled = _changes(marks)
            for mark in settled:
                counts[mark.state] += 1
            by_customer = {m.external_userid: m.id for m in marks if m not in settled}
        if not changes:
            continue

        def settle(results: list[marking.Result]) -> None:
            now, grouped = utcnow(), {}
            for result in results:
                grouped.setdefault(result.change.external_userid, []).append(result)
            for external_userid, mine in grouped.items():
                mark = db.session.get(M, by_customer[external_userid])
                counts[_settle(mark, mine, now)] += 1

        try:
            report = marking.mark(changes, "journeys.tags_marked", on_batch=settle)
        except NotConfigured as exc:
            return {**counts, "stopped": str(exc)}
        if report.stopped or any(r.outcome is Outcome.RETRY for r in report.results):
            return {**counts, "stopped": report.stopped}  # WeCom is busy or closed to us: the next run goes on


def follow(requested_by: str = "journeys") -> None:
    """Enqueue `journeys.tags` when marks are owed (outside any transaction); one already queued does the same."""
    if not owed_count():
        return
    try:
        jobs.enqueue("journeys.tags", {}, requested_by=requested_by)
    except jobs.JobBusy as exc:
        log.debug("journeys.tags not enqueued: #%s is %s", exc.job.id, exc.job.state)


def step_marks(journey_id: int) -> dict[str, dict]:
    """Per tag step (by identity): {"done": n, "pending": n, "failed": n, "errors": {WeCom's error: n}}."""
    found: dict[str, dict] = {}
    for step, state, error, n in db.session.execute(
            select(M.step_id, M.state, M.error, func.count()).where(M.journey_id == journey_id)
            .group_by(M.step_id, M.state, M.error)):
        counts = found.setdefault(step, {"done": 0, "pending": 0, "failed": 0, "errors": {}})
        counts[state] = counts.get(state, 0) + n
        if state == "failed" and error:
            counts["errors"][error] = counts["errors"].get(error, 0) + n
    return found
