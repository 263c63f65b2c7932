"""A journey's results, overall and per step: entered, messaged, tasks done on time, reactivated within 14 and 30
days, orders and GMV, treated against holdout (difference and 95 % interval), and the guardrail with its pause."""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.campaigns.reporting.uplift import Uplift
from app.contacts.models import FollowRelation
from app.extensions import db
from app.journeys import spec as specs, tagging
from app.journeys.models import (Journey, JourneyEntry as E, JourneySend, JourneyStatus, JourneyStepLog as L,
                                 JourneyVersion)
from app.rfm.models import CustomerEvent, Order
from app.sending.models import Delivery, DeliveryStatus as D
from app.tasks.models import Task

WINDOWS = (14, 30)
GUARD_HOURS = 72
GUARD_MIN_TOUCHED = 50   # below this many touched customers the guardrail does not judge (too few to say)


@dataclass
class Group:
    entered: int = 0
    reactivated: dict[int, int] = field(default_factory=lambda: {w: 0 for w in WINDOWS})
    ordered: int = 0        # customers with a paid order within 30 days of entry
    orders: int = 0
    gmv_fen: int = 0


@dataclass
class StepResult:
    index: int
    kind: str
    step_id: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)       # step log: message, task, skipped, held, ...
    deliveries: dict[str, int] = field(default_factory=dict)     # message steps: by delivery status / skip reason
    tasks: int = 0
    tasks_done: int = 0
    tasks_on_time: int = 0
    marks: dict = field(default_factory=dict)                    # tag steps: done / pending / failed, WeCom errors


@dataclass
class Results:
    treated: Group
    holdout: Group
    statuses: dict[str, int]
    exit_reasons: dict[str, int]
    steps: list[StepResult]
    uplift: Uplift
    touched: int
    deleted_after_touch: int

    @property
    def guardrail_rate(self) -> float | None:
        return self.deleted_after_touch / self.touched if self.touched else None


def _activity(journey_id: int, since: datetime):
    """Per customer of the journey: sorted paid orders (time, amount) and sorted event times since `since`."""
    who = select(E.external_userid).where(E.journey_id == journey_id)
    orders, events = defaultdict(list), defaultdict(list)
    for ext, paid_at, amount in db.session.execute(select(Order.external_userid, Order.paid_at, Order.amount_fen).where(
            Order.status == "paid", Order.paid_at >= since, Order.external_userid.in_(who))):
        orders[ext].append((paid_at, amount))
    for ext, at in db.session.execute(select(CustomerEvent.external_userid, CustomerEvent.occurred_at).where(
            CustomerEvent.occurred_at >= since, CustomerEvent.external_userid.in_(who))):
        events[ext].append(at)
    for values in (*orders.values(), *events.values()):
        values.sort()
    return orders, events


def _groups(journey_id: int) -> tuple[Group, Group]:
    entries = db.session.execute(select(E.external_userid, E.entered_at, E.held).where(E.journey_id == journey_id)).all()
    treated, holdout = Group(), Group()
    if not entries:
        return treated, holdout
    orders, events = _activity(journey_id, min(e.entered_at for e in entries))
    for ext, entered, held in entries:
        group = holdout if held else treated
        group.entered += 1
        mine = orders.get(ext, [])
        start = bisect.bisect_left(mine, (entered,))
        within = [(t, a) for t, a in mine[start:] if t < entered + timedelta(days=max(WINDOWS))]
        times = events.get(ext, [])
        for window in WINDOWS:
            end = entered + timedelta(days=window)
            first_event = bisect.bisect_left(times, entered)
            if any(t < end for t, _ in within) or (first_event < len(times) and times[first_event] < end):
                group.reactivated[window] += 1
        if within:
            group.ordered += 1
            group.orders += len(within)
            group.gmv_fen += sum(a for _, a in within)
    return treated, holdout


def _tasks(journey_id: int) -> dict[str, tuple[int, int, int]]:
    """Per step identity: (tasks, done, done by their due time), from the tasks this journey created (keys written
    before steps had identities end in the step's position)."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = db.session.execute(select(Task.source_key, Task.state, Task.done_at, Task.due_at).where(
        Task.source == "journey", Task.source_key.like(f"journey:{journey_id}:%")))
    for key, state, done_at, due_at in rows:
        step = key.rsplit(":", 1)[1]
        counts = found[f"s{int(step) + 1}" if step.isdigit() else step]
        counts[0] += 1
        if state == "done":
            counts[1] += 1
            counts[2] += int(done_at is not None and done_at <= due_at)
    return {k: tuple(v) for k, v in found.items()}


def guardrail(journey_id: int, since: datetime | None = None) -> tuple[int, int]:
    """(customers sent a message, of whom deleted or blocked its sender within 72 h of it)."""
    query = (select(Delivery.target_key, Delivery.sender_userid, Delivery.sent_at).join(
        JourneySend, JourneySend.id == Delivery.run_id).where(JourneySend.journey_id == journey_id,
                                                              Delivery.status == D.SENT))
    if since is not None:
        query = query.where(Delivery.sent_at >= since)
    touches = db.session.execute(query).all()
    if not touches:
        return 0, 0
    ended = {(r.external_userid, r.userid): r.ended_at for r in db.session.execute(
        select(FollowRelation.external_userid, FollowRelation.userid, FollowRelation.ended_at).where(
            FollowRelation.ended_by == "customer",
            FollowRelation.external_userid.in_({t.target_key for t in touches})))}
    touched, deleted = set(), set()
    for target, sender, sent_at in touches:
        touched.add(target)
        at = ended.get((target, sender))
        if at is not None and sent_at is not None and sent_at <= at <= sent_at + timedelta(hours=GUARD_HOURS):
            deleted.add(target)
    return len(touched), len(deleted)


def _ids_by_version(journey_id: int) -> dict[int, list[str]]:
    """The step identities of every version that ran (its approval in the history keeps its spec)."""
    return {version: specs.step_ids(spec or {}) for version, spec in db.session.execute(
        select(JourneyVersion.version, JourneyVersion.spec).where(JourneyVersion.journey_id == journey_id,
                                                                  JourneyVersion.action == "approved"))}


def of(journey: Journey) -> Results:
    treated, holdout = _groups(journey.id)
    statuses = dict(db.session.execute(select(E.status, func.count()).where(E.journey_id == journey.id)
                                       .group_by(E.status)).all())
    reasons = dict(db.session.execute(select(E.exit_reason, func.count()).where(
        E.journey_id == journey.id, E.exit_reason.is_not(None)).group_by(E.exit_reason)).all())
    spec = journey.live or journey.draft
    steps = [StepResult(i, s["kind"], sid) for (i, s), sid in zip(enumerate(spec["steps"]), specs.step_ids(spec))]
    by_id = {s.step_id: s for s in steps}  # a step's figures follow it across versions, wherever it moved
    for step_id, outcome, n in db.session.execute(select(L.step_id, L.outcome, func.count()).where(
            L.journey_id == journey.id).group_by(L.step_id, L.outcome)):
        if step_id in by_id:
            by_id[step_id].outcomes[outcome] = n
    ids_of = _ids_by_version(journey.id)
    for version, index, status, reason, n in db.session.execute(
            select(JourneySend.journey_version, JourneySend.journey_step, Delivery.status, Delivery.skip_reason,
                   func.count())
            .join(JourneySend, JourneySend.id == Delivery.run_id).where(JourneySend.journey_id == journey.id)
            .group_by(JourneySend.journey_version, JourneySend.journey_step, Delivery.status, Delivery.skip_reason)):
        ids = ids_of.get(version, [])
        if index < len(ids) and ids[index] in by_id:
            step, key = by_id[ids[index]], reason or status
            step.deliveries[key] = step.deliveries.get(key, 0) + n
    for step_id, (n, done, on_time) in _tasks(journey.id).items():
        if step_id in by_id:
            by_id[step_id].tasks, by_id[step_id].tasks_done, by_id[step_id].tasks_on_time = n, done, on_time
    for step_id, marks in tagging.step_marks(journey.id).items():
        if step_id in by_id:
            by_id[step_id].marks = marks
    touched, deleted = guardrail(journey.id)
    uplift = Uplift(treated.entered, treated.reactivated[30], holdout.entered, holdout.reactivated[30])
    return Results(treated, holdout, statuses, reasons, steps, uplift, touched, deleted)


def messaged(result: Results) -> int:
    return sum(s.deliveries.get(D.SENT, 0) + s.deliveries.get(D.SUBMITTED, 0) for s in result.steps)


def check_guardrail(journey: Journey) -> str | None:
    """Pause a running journey whose share of touched customers who deleted or blocked their staff member within
    72 h passed its threshold; the reason (also kept on the journey), or None."""
    from app.journeys import service

    if journey.status != JourneyStatus.ACTIVE:
        return None
    threshold = float((journey.live or {}).get("guardrail_percent", 2))
    touched, deleted = guardrail(journey.id)
    if touched < GUARD_MIN_TOUCHED or deleted * 100 <= threshold * touched:
        return None
    reason = (f"护栏触发：{touched} 位收到消息的客户中有 {deleted} 位（{deleted * 100 / touched:.1f}%）在 72 小时内"
              f"删除或拉黑了成员，超过阈值 {threshold:g}%，旅程已自动暂停")
    service.pause(journey, "system", reason)
    return reason
