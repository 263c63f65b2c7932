"""How each occurrence went, per owner: confirmed on time, late, missed (from the send engine's WeCom task data, or
the owner's task), and which groups were not sent to and why (in words a community manager understands)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app.community.sop.models import PUSH, OccurrenceStatus as O, SopItem, SopOccurrence
from app.contacts.models import CustomerGroup
from app.core import settings
from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import Delivery, DeliveryStatus as D, RunStatus, Send, SendTask, TaskStatus
from app.tasks.models import CANCELLED, DONE, GROUP_SOP, Task

ON_TIME_WITHIN = timedelta(hours=2)  # an owner who confirms within this of the time (or of quiet hours' end) is on time
TASK_MISSED_AFTER = timedelta(hours=72)  # an owner's task still open this long after its time counts as missed

ON_TIME, LATE, MISSED, PENDING, SKIPPED, FAILED = "on_time", "late", "missed", "pending", "skipped", "failed"
STATE_LABELS = {ON_TIME: N_("按时执行"), LATE: N_("延迟执行"), MISSED: N_("未执行"), PENDING: N_("等待群主确认"),
                SKIPPED: N_("未发送"), FAILED: N_("失败")}
STATE_STYLES = {ON_TIME: "success", LATE: "warning", MISSED: "danger", PENDING: "secondary", SKIPPED: "dark",
                FAILED: "danger"}
QUOTA_REASONS = {
    "month": N_("该群本月已收满企业微信的群发上限（每个客户群每月最多收当月天数条），本次没有发到该群"),
    "week": N_("该群近 7 天已收满企业微信的群发上限（每周 7 条），本次没有发到该群"),
    "day": N_("该群今天已收过群发（企业微信每个客户群每天 1 条），本次没有发到该群"),
}
CAP_REASON = N_("超过群发频率上限（规则 %(key)s），本次没有发到该群")
REASONS = {
    "no_sender": N_("群主已离职或不在应用可见范围，没有人能发送"),
    "cancelled": N_("已取消"),
    "not_confirmed": N_("群主在期限内未确认，已取消该群发"),
    "not_sent": N_("群主已确认，但企业微信没有发到该群（该群本月的群发条数可能已满，或群主已不是该群群主）"),
    "not_friend": N_("发送人已不是该群群主"),
    "over_quota": N_("该群已收满企业微信的群发上限，本次没有发到该群"),
    "error": N_("企业微信接口出错"),
    "not_approved": N_("群SOP 在安排后被暂停，本次未发送"),
}


def reason_text(code: str | None, gettext) -> str:
    """A skip or fail reason in words (translated by `gettext`)."""
    if code == "wecom_quota":
        return gettext(QUOTA_REASONS.get(settings.get("wecom.receive_rule"), QUOTA_REASONS["month"]))
    if code and code.startswith("cap:"):
        return gettext(CAP_REASON, key=code[4:])
    return gettext(REASONS[code]) if code in REASONS else (code or "")


@dataclass
class OwnerRow:
    owner: str
    state: str
    groups: int = 0
    confirmed_at: datetime | None = None
    note: str = ""


@dataclass
class GroupIssue:
    chat_id: str
    name: str
    owner: str | None
    reason: str  # the code; reason_text() for words


@dataclass
class Execution:
    occurrence: SopOccurrence
    owners: list[OwnerRow] = field(default_factory=list)
    issues: list[GroupIssue] = field(default_factory=list)
    sent_groups: int = 0
    note: str = ""  # why nothing at all went (the send's error, the occurrence's error)

    def counts(self) -> Counter:
        return Counter(o.state for o in self.owners)


def _push_state(task: SendTask, basis: datetime) -> tuple[str, datetime | None, str]:
    if task.confirmed_at is not None:
        return (ON_TIME if task.confirmed_at <= basis + ON_TIME_WITHIN else LATE), task.confirmed_at, ""
    if task.status in (TaskStatus.FINISHED, TaskStatus.CANCELLED):
        return MISSED, None, task.error or ""
    if task.status == TaskStatus.FAILED:
        return FAILED, None, task.error or ""
    return PENDING, None, ""


def _push(execution: Execution, occurrence: SopOccurrence) -> None:
    send = db.session.get(Send, occurrence.send_id)
    basis = max(occurrence.due_at, send.not_before or occurrence.due_at)
    if send.status in (RunStatus.FAILED, RunStatus.CANCELLED) and send.error:
        execution.note = send.error
    rows = db.session.execute(select(Delivery.target_key, Delivery.sender_userid, Delivery.status,
                                     Delivery.skip_reason, Delivery.fail_reason, CustomerGroup.name)
                              .outerjoin(CustomerGroup, CustomerGroup.chat_id == Delivery.target_key)
                              .where(Delivery.run_id == send.id).order_by(Delivery.sender_userid, CustomerGroup.name)
                              ).all()
    per_owner: dict[str, list] = {}
    for row in rows:
        per_owner.setdefault(row.sender_userid or "", []).append(row)
        if row.status == D.SENT:
            execution.sent_groups += 1
        elif row.status in (D.SKIPPED, D.FAILED):
            execution.issues.append(GroupIssue(row.target_key, row.name or row.target_key, row.sender_userid,
                                               row.skip_reason or row.fail_reason))
    tasks = {t.sender_userid: t for t in db.session.scalars(select(SendTask).where(SendTask.run_id == send.id)
                                                            .order_by(SendTask.chunk_no.desc()))}
    for owner, owned in per_owner.items():
        if not owner:
            continue
        task = tasks.get(owner)
        if task is not None:
            state, confirmed, note = _push_state(task, basis)
        elif all(r.status == D.SKIPPED for r in owned):
            state, confirmed, note = SKIPPED, None, ""
        else:
            state, confirmed, note = PENDING, None, ""
        execution.owners.append(OwnerRow(owner, state, len(owned), confirmed, note))


def _tasks(execution: Execution, occurrence: SopOccurrence, now: datetime) -> None:
    stamp = occurrence.due_at.strftime("%Y%m%dT%H%M")
    keys = {f"sop:{occurrence.item_id}:{stamp}:{owner}": owner for owner in occurrence.owners or []}
    found = {t.source_key: t for t in db.session.scalars(select(Task).where(Task.source == GROUP_SOP,
                                                                            Task.source_key.in_(list(keys))))}
    for key, owner in keys.items():
        task = found[key]  # written with the occurrence, in its transaction
        if task.state == DONE:
            execution.owners.append(OwnerRow(owner, ON_TIME if task.done_at <= task.due_at else LATE,
                                             confirmed_at=task.done_at))
        elif task.state == CANCELLED or now > occurrence.due_at + TASK_MISSED_AFTER:
            execution.owners.append(OwnerRow(owner, MISSED, note=task.cancel_reason or ""))
        else:
            execution.owners.append(OwnerRow(owner, PENDING))


def of(occurrence: SopOccurrence, now: datetime | None = None) -> Execution:
    """The occurrence's execution per owner and its groups not sent to."""
    execution = Execution(occurrence, note=occurrence.error or "")
    if occurrence.status != O.PLANNED:
        return execution
    item = db.session.get(SopItem, occurrence.item_id)
    if item.kind == PUSH and occurrence.send_id:
        _push(execution, occurrence)
    else:
        _tasks(execution, occurrence, now or utcnow())
    return execution

