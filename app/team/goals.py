"""目标: monthly targets per department (and below), staff role (每位该职务成员) or staff member, and how far a figure
has come against its target (达成率) month to date.

Counts and money are targets for the whole month, compared pro rata to the complete days gone (a month of 30 days
with 10 gone expects a third); rates are the rate itself. Lower-is-better figures (losses, reply time) attain
target / actual. The colour of an attainment: green from 100 %, amber from 80 %, red below 80 % (20 % under target).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app.contacts.models import Department, Staff
from app.core.audit import record
from app.core.db import transaction
from app.core.errors import UserError
from app.core.permissions import N_, Role
from app.extensions import db
from app.team.figures import Period
from app.team.models import Target
from app.team.report import Tree

# figure -> (label, kind, higher is better); the figures a target may be set on
FIGURES = {
    "net_new": (N_("净增客户"), "count", True), "adds": (N_("新增客户"), "count", True),
    "losses": (N_("流失客户"), "count", False), "gmv_fen": (N_("客户成交额 GMV"), "money", True),
    "orders": (N_("订单数"), "count", True), "push_rate": (N_("群发执行率"), "rate", True),
    "reply_rate": (N_("回复率"), "rate", True), "reply_minutes": (N_("平均回复时长（分钟）"), "minutes", False),
    "welcome_rate": (N_("欢迎语成功率"), "rate", True), "group_activity": (N_("群活跃度"), "rate", True),
    "sla_rate": (N_("跟进SLA达成率"), "rate", True),
}
SCOPES = {"department": N_("部门（含下级）"), "role": N_("职务（每位成员）"), "staff": N_("成员")}
GREEN, AMBER = 1.0, 0.8   # attainment from which a figure is green, amber; below AMBER it is red


class TargetError(UserError):
    """A target that cannot be saved: the message names the field."""


@dataclass(frozen=True)
class Attainment:
    target: float        # in the figure's own unit (fen, fraction, count, minutes), for the whole month
    expected: float      # what the days gone expect (counts and money pro rata; rates: the target)
    actual: float | None
    ratio: float | None  # 1.0 = on target; None: nothing measured yet

    @property
    def colour(self) -> str:
        if self.ratio is None:
            return ""
        return "green" if self.ratio >= GREEN else "amber" if self.ratio >= AMBER else "red"


def month_days(month: str) -> Period:
    year, number = int(month[:4]), int(month[5:7])
    return Period(date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1]))


def month_to_date(month: str, today: date) -> Period | None:
    """The complete days of `month` before `today` (None when none has passed)."""
    whole = month_days(month)
    last = min(whole.last, today - timedelta(days=1))
    return Period(whole.first, last) if last >= whole.first else None


def attainment(figure: str, target: float, actual: float | None, share: float) -> Attainment:
    """`share`: the part of the month gone (0..1]; pure arithmetic, no database."""
    _label, kind, higher = FIGURES[figure]
    expected = target * share if kind in ("count", "money") else target
    if actual is None:
        return Attainment(target, expected, None, None)
    if higher:
        ratio = actual / expected if expected > 0 else (1.0 if actual >= 0 else 0.0)
    else:
        ratio = expected / actual if actual > 0 else 1.0
    return Attainment(target, expected, actual, round(ratio, 4))


def parse_value(figure: str, text: str) -> Decimal:
    """A target as typed: counts whole, money in yuan (kept in fen), rates in percent (kept as a fraction)."""
    kind = FIGURES[figure][1]
    try:
        value = Decimal((text or "").strip().replace(",", "").replace("¥", "").rstrip("%"))
    except InvalidOperation:
        raise TargetError(N_("目标值必须是数字：%(value)s"), value=(text or "")[:20]) from None
    if not value.is_finite() or value < 0:
        raise TargetError(N_("目标值必须是不小于 0 的数字"))
    if kind == "rate":
        if value > 100:
            raise TargetError(N_("比率目标是百分数，最大 100"))
        return value / 100
    if kind == "money":
        return (value * 100).quantize(Decimal(1))
    if kind == "count" and value != value.to_integral_value():
        raise TargetError(N_("数量目标必须是整数"))
    return value


def editable_scopes(user, tree: Tree) -> dict[str, object]:
    """What this account may set targets for: supervisors their departments and members; roles only admins."""
    return {"department": tree.ids, "staff": tree.scope.userids,
            "role": None if user.role == Role.ADMIN else frozenset()}


def visible(user, tree: Tree, target: Target) -> bool:
    """A supervisor sees targets of the departments they lead (and below), of their members, and role targets."""
    if tree.everything:
        return True
    if target.scope_kind == "department":
        return target.scope_value.isdigit() and int(target.scope_value) in tree.ids
    if target.scope_kind == "staff":
        return target.scope_value in (tree.scope.userids or ())
    return True


def check_month(month: str) -> str:
    if len(month or "") != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or \
            not 1 <= int(month[5:]) <= 12:
        raise TargetError(N_("月份格式为 YYYY-MM：%(value)s"), value=(month or "")[:10])
    return month


def save(user, tree: Tree, month: str, scope_kind: str, scope_value: str, figure: str, value_text: str) -> Target:
    """Create or change the target of (month, scope, figure); refused, naming the field, when out of scope."""
    check_month(month)
    if figure not in FIGURES:
        raise TargetError(N_("没有这个指标：%(value)s"), value=(figure or "")[:32])
    if scope_kind not in SCOPES:
        raise TargetError(N_("目标对象必须是部门、职务或成员"))
    scope_value = (scope_value or "").strip()
    allowed = editable_scopes(user, tree)[scope_kind]
    if scope_kind == "department":
        if not scope_value.isdigit() or int(scope_value) not in allowed:
            raise TargetError(N_("部门 %(value)s 不存在，或不在您负责的部门之内"), value=scope_value[:20])
    elif scope_kind == "staff":
        exists = db.session.scalar(select(Staff.userid).where(Staff.userid == scope_value))
        if exists is None or (allowed is not None and scope_value not in allowed):
            raise TargetError(N_("员工 %(value)s 不存在，或不在您负责的部门之内"), value=scope_value[:64])
    elif allowed is not None:
        raise TargetError(N_("职务目标适用于全公司，只有管理员可以设置"))
    elif not scope_value or len(scope_value) > 128:
        raise TargetError(N_("请填写职务名称（最长 128 字）"))
    value = parse_value(figure, value_text)
    with transaction():
        target = db.session.scalar(select(Target).where(
            Target.month == month, Target.scope_kind == scope_kind, Target.scope_value == scope_value,
            Target.figure == figure)) or Target(month=month, scope_kind=scope_kind, scope_value=scope_value,
                                                figure=figure)
        target.value, target.created_by = value, user.username
        db.session.add(target)
        db.session.flush()
        record("team.target_saved", target=f"{scope_kind}:{scope_value}",
               details={"month": month, "figure": figure, "value": str(value)})
    return target


def delete(user, tree: Tree, target_id: int) -> None:
    target = db.session.get(Target, target_id)
    if target is None or not visible(user, tree, target) or \
            (target.scope_kind == "role" and user.role != Role.ADMIN):
        raise TargetError(N_("目标不存在，或不在您负责的范围之内"))
    with transaction():
        record("team.target_deleted", target=f"{target.scope_kind}:{target.scope_value}",
               details={"month": target.month, "figure": target.figure, "value": str(target.value)})
        db.session.delete(target)


def scope_name(kind: str, value: str, labels: dict[str, str] | None = None) -> str:
    """How a target's scope is named on a page."""
    if kind == "department":
        department = db.session.get(Department, int(value)) if value.isdigit() else None
        return department.name if department else value
    if kind == "staff":
        return (labels or {}).get(value, value)
    return value or "—"
