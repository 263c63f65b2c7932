"""Staff task use cases: create (idempotent by source key, delivered to the assignee by app message), complete,
cancel. Every feature that gives staff a to-do (journeys, follow-up rules, the console) goes through here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.contacts.models import Customer, Staff
from app.core import settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.staffmsg.service import notify
from app.tasks.models import CANCELLED, DONE, MANUAL, OPEN, Task

MAX_TITLE = 128


class TaskError(UserError):
    """A task request refused; the message says which field and why."""


def task_path(task_id: int) -> str:
    """The console page of a task (what the app message links to)."""
    return f"/tasks/{task_id}"


def local_time(moment: datetime) -> str:
    return moment.astimezone(settings.corp_timezone()).strftime("%Y-%m-%d %H:%M")


def _customer_name(external_userid: str | None) -> str:
    if not external_userid:
        return ""
    return db.session.scalar(select(Customer.name).where(Customer.external_userid == external_userid)) or ""


def _deliver(task: Task) -> None:
    """The app message telling the assignee about a new task, with a link to it (in the corp's language, Chinese:
    it is written by a job, for staff, not for the reader of a page)."""
    customer = _customer_name(task.external_userid)
    lines = [N_("截止：%(due)s") % {"due": local_time(task.due_at)}]
    if customer:
        lines.append(N_("客户：%(name)s") % {"name": customer})
    if task.body:
        lines.append(task.body[:200])
    notify(task.assignee, f"task:{task.id}:assigned", N_("新任务：%(title)s") % {"title": task.title},
           "\n".join(lines), url=task_path(task.id), feature="tasks")


def create_task(assignee: str, title: str, due_at: datetime, *, source: str = MANUAL, source_key: str | None = None,
                body: str = "", external_userid: str | None = None, created_by: str = "system",
                deliver: bool = True) -> Task:
    """A task for staff member `assignee` (userid), due at `due_at` (timezone-aware), optionally about the customer
    `external_userid`. With `source_key` (e.g. "journey:3:step:2:wmXYZ") asking again returns the first task,
    whatever its state, unchanged. `deliver` queues the app message to the assignee (sent by the staffmsg dispatcher
    within a minute). Joins the caller's transaction (the caller commits). TaskError on bad input."""
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise TaskError(N_("任务标题必填，最多 %(n)s 个字"), n=MAX_TITLE)
    if due_at is None or due_at.tzinfo is None:
        raise TaskError(N_("截止时间必须带时区"))
    if source_key is not None and not 0 < len(source_key) <= 191:
        raise TaskError(N_("来源键最多 191 个字符"))
    if not source or len(source) > 32:
        raise TaskError(N_("来源最多 32 个字符"))
    if source_key is not None:
        existing = db.session.scalar(select(Task).where(Task.source_key == source_key))
        if existing is not None:
            return existing
    staff = db.session.scalar(select(Staff).where(Staff.userid == assignee, Staff.removed_at.is_(None)))
    if staff is None:
        raise TaskError(N_("负责员工 %(userid)s 不存在或已离职"), userid=assignee)
    task = Task(assignee=assignee, title=title, body=body or "", due_at=due_at, source=source,
                source_key=source_key, external_userid=external_userid or None, state=OPEN,
                created_at=utcnow(), created_by=created_by[:64], escalated_to=[])
    try:
        with db.session.begin_nested():
            db.session.add(task)
    except IntegrityError:  # the same source key created by another process meanwhile
        return db.session.scalar(select(Task).where(Task.source_key == source_key))
    if deliver:
        _deliver(task)
    return task


def _open_task(task_id: int) -> Task:
    task = db.session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise TaskError(N_("任务 #%(id)s 不存在"), id=task_id)
    if task.state != OPEN:
        raise TaskError(N_("任务 #%(id)s 已完成或已取消"), id=task_id)
    return task


def complete(task_id: int, by: str) -> Task:
    """Mark an open task done now by `by` (a console username or a userid); committed."""
    with transaction():
        task = _open_task(task_id)
        task.state, task.done_at, task.done_by = DONE, utcnow(), by[:64]
        record("tasks.completed", target=f"task#{task.id}", details={"assignee": task.assignee,
                                                                    "late": task.done_at > task.due_at})
    return task


def cancel(task_id: int, by: str, reason: str = "") -> Task:
    """Cancel an open task (it no longer counts for the SLA); committed."""
    with transaction():
        task = _open_task(task_id)
        task.state, task.cancelled_at, task.cancelled_by = CANCELLED, utcnow(), by[:64]
        task.cancel_reason = (reason or "")[:200]
        record("tasks.cancelled", target=f"task#{task.id}", details={"assignee": task.assignee,
                                                                    "reason": task.cancel_reason})
    return task
