"""The task sweep (job tasks.sweep, every 5 minutes): a reminder to the assignee before a task is due, and when it is
overdue, word to the assignee and their supervisors. Each happens once per task (recorded on the task in the same
transaction as the message is queued), however often the sweep runs; messages are gathered per person and run."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from app.contacts.staff_labels import staff_labels
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.staffmsg.service import notify
from app.tasks.models import OPEN, Task
from app.tasks.service import local_time, task_path
from app.tasks.supervisors import supervisors_of

REMIND_BEFORE = timedelta(hours=2)  # at the latest; a short task is reminded when three quarters of its time passed
LISTED = 5                          # tasks named in one message; the rest are counted


def remind_at(task: Task) -> datetime:
    return task.due_at - min(REMIND_BEFORE, (task.due_at - task.created_at) / 4)


def _lines(tasks: list[Task], names: dict[str, str] | None = None) -> str:
    shown = [f"· {t.title}" + (f"（{names.get(t.assignee, t.assignee)}）" if names is not None else "")
             + f" {local_time(t.due_at)}" for t in tasks[:LISTED]]
    if len(tasks) > LISTED:
        shown.append(N_("……共 %(n)s 项") % {"n": len(tasks)})
    return "\n".join(shown)


def _tell(userid: str, purpose: str, tasks: list[Task], title: str, summary_path: str,
          names: dict[str, str] | None = None) -> None:
    """One message to `userid` about `tasks`: the task's page for one, `summary_path` for several."""
    path = task_path(tasks[0].id) if len(tasks) == 1 else summary_path
    notify(userid, f"{purpose}:{userid}:{tasks[0].id}:{len(tasks)}", title, _lines(tasks, names), url=path,
           feature="tasks")


def _remind(now: datetime) -> int:
    with transaction():
        due_soon = [t for t in db.session.scalars(
            select(Task).where(Task.state == OPEN, Task.reminded_at.is_(None), Task.due_at > now,
                               Task.due_at <= now + REMIND_BEFORE).order_by(Task.due_at, Task.id).with_for_update())
            if remind_at(t) <= now]
        per_assignee = defaultdict(list)
        for task in due_soon:
            task.reminded_at = now
            per_assignee[task.assignee].append(task)
        for userid, tasks in per_assignee.items():
            _tell(userid, "tasks:remind", tasks, N_("%(n)s 个跟进任务即将到期") % {"n": len(tasks)}, "/tasks/mine")
    return len(due_soon)


def _escalate(now: datetime) -> int:
    with transaction():
        overdue = list(db.session.scalars(
            select(Task).where(Task.state == OPEN, Task.escalated_at.is_(None), Task.due_at <= now)
            .order_by(Task.due_at, Task.id).with_for_update()))
        if not overdue:
            return 0
        bosses = supervisors_of(sorted({t.assignee for t in overdue}))
        names = staff_labels({t.assignee for t in overdue})
        per_assignee, per_boss = defaultdict(list), defaultdict(list)
        for task in overdue:
            task.escalated_at, task.escalated_to = now, bosses.get(task.assignee, [])
            per_assignee[task.assignee].append(task)
            for boss in task.escalated_to:
                per_boss[boss].append(task)
        for userid, tasks in per_assignee.items():
            _tell(userid, "tasks:overdue", tasks, N_("%(n)s 个跟进任务已逾期") % {"n": len(tasks)}, "/tasks/mine")
        for boss, tasks in per_boss.items():
            _tell(boss, "tasks:escalated", tasks, N_("团队有 %(n)s 个跟进任务逾期") % {"n": len(tasks)},
                  "/tasks/overdue", names)
    return len(overdue)


def run_job() -> dict:
    now = utcnow()
    return {"reminded": _remind(now), "escalated": _escalate(now)}
