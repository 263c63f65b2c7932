"""A campaign's results: the delivery funnel, execution per staff member, conversions of treated against holdout."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Callable

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true

from app.campaigns.policy import policies
from app.campaigns.models import CATEGORY_LABELS, CampaignRun
from app.campaigns.reporting.uplift import Uplift
from app.contacts.models import Staff
from app.contacts.scope import Scope
from app.core.permissions import N_
from app.extensions import db
from app.rfm.models import Order
from app.sending.guards import CapRule
from app.sending.models import Delivery, DeliveryStatus as D, SendTask

FAIL_LABELS = {
    "not_friend": N_("不是好友"), "over_quota": N_("超出接收上限"), "error": N_("接口错误"),
    "not_sent": N_("未送达"), "not_confirmed": N_("成员未确认"), "cancelled": N_("已取消"),
}
SKIP_LABELS = {
    "opt_out": N_("客户免打扰"), "lost": N_("已流失"), "wecom_quota": N_("企业微信接收上限"),
    "no_sender": N_("没有可发送的成员"), "cancelled": N_("活动已取消"), "not_approved": N_("规划后被修改或未审批"),
    "journey_exit": N_("已退出旅程（规划后下单或有互动等）"), "no_personal": N_("没有专属内容（如专属链接）"),
}
CAP_CHANNEL_LABELS = {"single": N_("客户"), "group": N_("客户群")}
TREATED = (D.PLANNED, D.SUBMITTED, D.SENT, D.FAILED)  # assigned to be sent and past every guard
MAX_WINDOW_DAYS = 60


def cap_rule_label(rule: CapRule) -> str:
    """A frequency cap in words, e.g. 「客户 · 促销：1 天内最多 1 条」."""
    from flask_babel import gettext as _

    return _("%(channel)s · %(category)s：%(days)s 天内最多 %(n)s 条", channel=_(CAP_CHANNEL_LABELS[rule.chat_type]),
             category=_(CATEGORY_LABELS[rule.category]) if rule.category in CATEGORY_LABELS else _("所有类别"),
             days=rule.days, n=rule.max_sends)


def skip_labeller() -> Callable[[str], str]:
    """A function giving the reason a customer was skipped in words; a frequency cap is described by the rule
    as it is set now (its key alone when the rule has been removed since)."""
    from flask_babel import gettext as _

    rules = {rule.key: rule for rule in policies.current().cap_rules}

    def label(reason: str) -> str:
        if reason.startswith("cap:"):
            rule = rules.get(reason[4:])
            return _("频次上限：%(rule)s", rule=f"{cap_rule_label(rule)}（{rule.key}）" if rule else reason[4:])
        return _(SKIP_LABELS[reason]) if reason in SKIP_LABELS else reason

    return label


def runs_of(campaign_id: int) -> list[CampaignRun]:
    """The campaign's runs (test sends left out), newest first."""
    return list(db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign_id,
                                                             CampaignRun.kind != "test")
                                   .order_by(CampaignRun.id.desc())))


def runs_chosen(campaign_id: int, run_id: int | None) -> tuple[list[CampaignRun], list[CampaignRun]]:
    """The campaign's runs, and those `run_id` picks: all of them when None, none when it is not one of them."""
    runs = runs_of(campaign_id)
    return runs, [r for r in runs if r.id == run_id] if run_id else runs


@dataclass
class Funnel:
    audience: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    to_send: int = 0        # planned, not yet handed to WeCom
    submitted: int = 0      # in a WeCom task (msgid known)
    confirmed: int = 0      # their staff member confirmed the task
    sent: int = 0
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def as_dict(self) -> dict:
        return {"audience": self.audience, "skipped": self.skipped, "holdout": self.holdout,
                "to_send": self.to_send, "submitted": self.submitted, "confirmed": self.confirmed,
                "sent": self.sent, "failed": self.failed}


def visible(scope: Scope) -> ColumnElement[bool]:
    """The deliveries an account in `scope` may see and count: sent by its staff, or (no sender: skipped before one
    was chosen) to its customers. Everything for accounts without a scope."""
    if scope.everything:
        return true()
    return or_(scope.staff_filter(Delivery.sender_userid),
               and_(Delivery.sender_userid.is_(None), scope.customer_filter(Delivery.target_key)))


def funnel(run_ids: list[int], scope: Scope) -> Funnel:
    f = Funnel()
    if not run_ids:
        return f
    in_task = SendTask.msgid.is_not(None)
    rows = db.session.execute(
        select(Delivery.status, Delivery.skip_reason, Delivery.fail_reason,
               func.count(), func.sum(case((in_task, 1), else_=0)),
               func.sum(case((SendTask.confirmed_at.is_not(None), 1), else_=0)))
        .select_from(Delivery).outerjoin(SendTask, SendTask.id == Delivery.send_task_id)
        .where(Delivery.run_id.in_(run_ids), visible(scope))
        .group_by(Delivery.status, Delivery.skip_reason, Delivery.fail_reason))
    for status, skip_reason, fail_reason, n, submitted, confirmed in rows:
        f.audience += n
        f.submitted += submitted or 0
        f.confirmed += confirmed or 0
        if status == D.SKIPPED:
            f.skipped[skip_reason or "unknown"] = f.skipped.get(skip_reason or "unknown", 0) + n
        elif status == D.HOLDOUT:
            f.holdout += n
        elif status == D.PLANNED:
            f.to_send += n
        elif status == D.SENT:
            f.sent += n
        elif status == D.FAILED:
            f.failed[fail_reason or "error"] = f.failed.get(fail_reason or "error", 0) + n
    return f


@dataclass
class StaffRow:
    userid: str
    name: str
    tasks: int = 0
    confirmed: int = 0
    reminded: int = 0
    recipients: int = 0
    sent: int = 0
    confirm_minutes: list[float] = field(default_factory=list)

    @property
    def median_minutes(self) -> float | None:
        return median(self.confirm_minutes) if self.confirm_minutes else None


def per_staff(run_ids: list[int], scope: Scope) -> list[StaffRow]:
    """Execution per sender: tasks, how many they confirmed and how long it took, reminders, recipients, sent."""
    if not run_ids:
        return []
    names = dict(db.session.execute(select(Staff.userid, Staff.name)).all())
    rows: dict[str, StaffRow] = {}
    for task in db.session.scalars(select(SendTask).where(SendTask.run_id.in_(run_ids), SendTask.msgid.is_not(None),
                                                          scope.staff_filter(SendTask.sender_userid))):
        row = rows.setdefault(task.sender_userid, StaffRow(task.sender_userid, names.get(task.sender_userid, "")))
        row.tasks += 1
        row.reminded += task.remind_count
        if task.confirmed_at and task.submitted_at:
            row.confirmed += 1
            row.confirm_minutes.append(max(0.0, (task.confirmed_at - task.submitted_at).total_seconds() / 60))
    counts = db.session.execute(
        select(Delivery.sender_userid, func.count(), func.sum(case((Delivery.status == D.SENT, 1), else_=0)))
        .join(SendTask, SendTask.id == Delivery.send_task_id)
        .where(Delivery.run_id.in_(run_ids), SendTask.msgid.is_not(None)).group_by(Delivery.sender_userid))
    for userid, recipients, sent in counts:
        if userid in rows:
            rows[userid].recipients, rows[userid].sent = recipients, sent or 0
    return sorted(rows.values(), key=lambda r: (-r.tasks, r.userid))


def reference_time(run: CampaignRun) -> datetime:
    """When the run's push went out: its first WeCom task, else when it was allowed to go, else its schedule."""
    first = db.session.scalar(select(func.min(SendTask.submitted_at)).where(SendTask.run_id == run.id))
    return first or run.not_before or run.scheduled_for


def conversions(runs: list[CampaignRun], window_days: int, scope: Scope) -> dict[str, Uplift]:
    """Per variant: customers assigned to it and past every guard against the holdout, who paid an order within
    `window_days` of the run's send time (same start for both groups). The holdout is shared by every variant."""
    treated: dict[str, list[int]] = {}
    holdout = [0, 0]
    for run in runs:
        start = reference_time(run)
        paid = exists().where(Order.external_userid == Delivery.target_key, Order.status == "paid",
                              Order.paid_at >= start, Order.paid_at < start + timedelta(days=window_days))
        query = (select(Delivery.status, Delivery.variant_key, func.count(), func.sum(case((paid, 1), else_=0)))
                 .where(Delivery.run_id == run.id, Delivery.status.in_(TREATED + (D.HOLDOUT,)), visible(scope))
                 .group_by(Delivery.status, Delivery.variant_key))
        for status, variant, n, converted in db.session.execute(query):
            group = holdout if status == D.HOLDOUT else treated.setdefault(variant or "A", [0, 0])
            group[0] += n
            group[1] += converted or 0
    return {key: Uplift(n, x, holdout[0], holdout[1]) for key, (n, x) in sorted(treated.items())}
