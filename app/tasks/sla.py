"""Follow-up SLA attainment: tasks done on time out of the tasks due, per staff member and corp-local day (the day
the task was due). A cancelled task does not count; an open one counts once its due time has passed (late); one done
early counts on its due day. The conditions are SQL, so the team roll-up (app/team/figures.py) sums the same ones the
task pages read here."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Iterable

from sqlalchemy import ColumnElement, select

from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.tasks.models import CANCELLED, DONE, Task


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    zone = settings.corp_timezone()
    return (datetime.combine(first, time.min, tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone))


def counted(now: datetime) -> ColumnElement[bool]:
    """A task that counts toward the attainment at `now`: not cancelled, and done or past its due time."""
    return (Task.state != CANCELLED) & ((Task.state == DONE) | (Task.due_at <= now))


def done_on_time() -> ColumnElement[bool]:
    """A task done by its due time."""
    return (Task.state == DONE) & Task.done_at.is_not(None) & (Task.done_at <= Task.due_at)


def daily(first: date, last: date, userids: Iterable[str] | None = None) -> dict[str, dict[date, tuple[int, int]]]:
    """{userid: {day: (done on time, due)}} for corp-local days first..last; days without due tasks are absent."""
    start, end = _bounds(first, last)
    zone = settings.corp_timezone()
    query = select(Task.assignee, Task.due_at, done_on_time()).where(
        counted(utcnow()), Task.due_at >= start, Task.due_at < end)
    if userids is not None:
        query = query.where(Task.assignee.in_(sorted(set(userids))))
    figures: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for assignee, due_at, punctual in db.session.execute(query):
        cell = figures[assignee][due_at.astimezone(zone).date()]
        cell[1] += 1
        cell[0] += bool(punctual)
    return {u: {d: (c[0], c[1]) for d, c in days.items()} for u, days in figures.items()}


def rate(on_time: int, due: int) -> float | None:
    """The attainment as a share (None when nothing was due: shown as —)."""
    return round(on_time / due, 4) if due else None


def totals(first: date, last: date, userids: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """{userid: (done on time, due)} over the whole period."""
    return {u: (sum(c[0] for c in days.values()), sum(c[1] for c in days.values()))
            for u, days in daily(first, last, userids).items()}
