"""What the 跟进任务 pages show: tasks by view (open, overdue, done ...) within an account's scope, each task's SLA
clock, the per-staff summary, and who may see or complete a task."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, select

from app.contacts.scope import Scope, scope_for
from app.contacts.staff_labels import staff_labels
from app.core import settings
from app.core.permissions import Permission as P
from app.extensions import db
from app.tasks import sla
from app.tasks.models import CANCELLED, DONE, OPEN, Task

VIEWS = ("open", "overdue", "done", "cancelled", "all")
SUMMARY_DAYS = 30


def tasks_query(scope: Scope, view: str, now: datetime, assignee: str | None = None) -> Select:
    query = select(Task).where(scope.staff_filter(Task.assignee))
    if assignee:
        query = query.where(Task.assignee == assignee)
    if view == "open":
        return query.where(Task.state == OPEN).order_by(Task.due_at, Task.id)
    if view == "overdue":
        return query.where(Task.state == OPEN, Task.due_at <= now).order_by(Task.due_at, Task.id)
    if view == "done":
        return query.where(Task.state == DONE).order_by(Task.done_at.desc(), Task.id.desc())
    if view == "cancelled":
        return query.where(Task.state == CANCELLED).order_by(Task.cancelled_at.desc(), Task.id.desc())
    return query.order_by(Task.id.desc())


@dataclass(frozen=True)
class Clock:
    """A task's SLA clock: `kind` remaining | overdue | on_time | late | cancelled, and the minutes it measures
    (left before due, past due, or done before/after due)."""

    kind: str
    minutes: int


def clock(task: Task, now: datetime) -> Clock:
    if task.state == CANCELLED:
        return Clock("cancelled", 0)
    if task.state == DONE:
        minutes = int((task.due_at - task.done_at).total_seconds() // 60)
        return Clock("on_time", minutes) if minutes >= 0 else Clock("late", -minutes)
    minutes = int((task.due_at - now).total_seconds() // 60)
    return Clock("remaining", minutes) if minutes > 0 else Clock("overdue", -minutes)


@dataclass(frozen=True)
class StaffLine:
    userid: str
    label: str
    open: int
    overdue: int
    on_time: int
    due: int

    @property
    def rate(self) -> float | None:
        return sla.rate(self.on_time, self.due)


def staff_summary(scope: Scope, now: datetime) -> list[StaffLine]:
    """Per staff member in scope with tasks: open, overdue now, and the SLA of the last SUMMARY_DAYS corp days."""
    counts = {u: (o, d) for u, o, d in db.session.execute(
        select(Task.assignee, func.count(), func.sum(case((Task.due_at <= now, 1), else_=0)))
        .where(Task.state == OPEN, scope.staff_filter(Task.assignee)).group_by(Task.assignee))}
    today = now.astimezone(settings.corp_timezone()).date()
    attained = sla.totals(today - timedelta(days=SUMMARY_DAYS - 1), today,
                          None if scope.everything else scope.userids)
    userids = set(counts) | set(attained)
    labels = staff_labels(userids)
    lines = [StaffLine(u, labels.get(u, u), counts.get(u, (0, 0))[0], int(counts.get(u, (0, 0))[1] or 0),
                       *attained.get(u, (0, 0))) for u in userids]
    return sorted(lines, key=lambda line: (-line.overdue, -line.open, line.label))


def can_see(account, task: Task) -> bool:
    """The assignee's own account, or an account that sees tasks and has the assignee in its scope."""
    if getattr(account, "wecom_userid", None) == task.assignee:
        return True
    if not account.can(P.TASKS_VIEW):
        return False
    scope = scope_for(account)
    return scope.everything or task.assignee in scope.userids


def can_complete(account, task: Task) -> bool:
    """The assignee's own account, or one that manages tasks; supervisors see their team's tasks but the staff
    member marks them done."""
    return task.state == OPEN and (getattr(account, "wecom_userid", None) == task.assignee
                                   or account.can(P.TASKS_MANAGE))
