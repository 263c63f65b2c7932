"""What the team pages, their exports and the API show: the department tree an account may see, the period asked for,
the overview of a department and a staff member's scorecard, and the one formatting of every figure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import load_only

from app.contacts.models import Customer, Department, FollowRelation, Staff
from app.contacts.staff_labels import staff_labels
from app.contacts.scope import Scope, led_department_ids, scope_for, with_sub_departments
from app.core import export, settings
from app.core.audit import record
from app.core.db import transaction
from app.core.errors import UserError
from app.core.permissions import N_, Role
from app.extensions import db
from app.team import rollup
from app.team.figures import Collector, Period

MAX_DAYS = 180
DEFAULT_DAYS = 30
# (key, label, kind): the tiles of both pages, in order; kind picks the formatting
TILES = (("net_new", N_("净增客户"), "count"), ("losses", N_("流失客户"), "count"),
         ("push_rate", N_("群发执行率"), "rate"), ("reply_rate", N_("回复率"), "rate"),
         ("reply_minutes", N_("平均回复时长（分钟）"), "minutes"), ("welcome_rate", N_("欢迎语成功率"), "rate"),
         ("group_activity", N_("群活跃度（发言成员/成员）"), "rate"), ("sla_rate", N_("跟进SLA达成率"), "rate"),
         ("gmv_fen", N_("客户成交额 GMV"), "money"))
# (key, label, kind): the columns of the member table and of its export
COLUMNS = (("net_new", N_("净增客户"), "count"), ("adds", N_("新增"), "count"),
           ("lost_by_customer", N_("客户删除"), "count"), ("lost_by_staff", N_("员工删除"), "count"),
           ("push_assigned", N_("群发任务"), "count"), ("push_on_time", N_("按时确认"), "count"),
           ("push_late", N_("延迟确认"), "count"), ("push_never", N_("未确认"), "count"),
           ("push_rate", N_("群发执行率"), "rate"), ("reply_rate", N_("回复率"), "rate"),
           ("reply_minutes", N_("平均回复时长（分钟）"), "minutes"), ("welcome_rate", N_("欢迎语成功率"), "rate"),
           ("group_activity", N_("群活跃度"), "rate"), ("sla_due", N_("到期跟进任务"), "count"),
           ("sla_on_time", N_("按时跟进"), "count"), ("sla_rate", N_("跟进SLA达成率"), "rate"),
           ("orders", N_("订单数"), "count"),
           ("gmv_fen", N_("GMV"), "money"))
KINDS = {key: kind for key, _label, kind in TILES + COLUMNS}


class TeamRequestError(UserError):
    """A period or department the request may not have; the message names the field."""


class NotInScope(UserError):
    """A department or staff member outside what the account may see."""


def show(key: str, value) -> str:
    """A figure as every page and export shows it; None (nothing to measure) is —, never 0."""
    if value is None:
        return "—"
    kind = KINDS.get(key, "count")
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "minutes":
        return f"{value:.1f}"
    if kind == "money":
        return f"¥{value / 100:,.2f}"
    return f"{value:,}"


# How Excel shows an exported figure of each kind: as `show` shows it on the page, the cell holding the number
EXCEL_FORMATS = {"count": export.COUNT, "rate": export.RATE, "minutes": export.DECIMAL, "money": export.MONEY}
COLUMN_FORMATS = [EXCEL_FORMATS[kind] for _key, _label, kind in COLUMNS]  # of the figure columns, in order


def exported(key: str, value):
    """A figure as the exports write it: a number Excel can sort and sum (a count whole, a rate as a fraction to 4
    places, minutes to 1, money in yuan), shown there by EXCEL_FORMATS; a CSV has these numbers as they are written,
    never a float's long tail (0.45161290322580644); None (nothing to measure) is an empty cell, never 0."""
    kind = KINDS.get(key, "count")
    if value is None:
        return None
    if kind == "money":
        return export.yuan(value)
    return {"count": round, "rate": lambda v: round(v, 4), "minutes": lambda v: round(v, 1)}[kind](value)


def today() -> date:
    return datetime.now(settings.corp_timezone()).date()


def parse_period(start: str | None, end: str | None) -> Period:
    """The days asked for (YYYY-MM-DD, corp-local, inclusive); by default the last 30 complete days."""
    last_allowed = today()

    def parse(text: str | None, field: str, default: date) -> date:
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise TeamRequestError(N_("%(field)s 不是有效日期（格式 YYYY-MM-DD）：%(value)s"), field=field,
                                   value=text[:20]) from None

    last = parse(end, "end", last_allowed - timedelta(days=1))
    first = parse(start, "start", last - timedelta(days=DEFAULT_DAYS - 1))
    if last > last_allowed:
        raise TeamRequestError(N_("end 不能晚于今天（%(today)s）"), today=last_allowed.isoformat())
    if first > last:
        raise TeamRequestError(N_("start 不能晚于 end"))
    if (last - first).days + 1 > MAX_DAYS:
        raise TeamRequestError(N_("时间范围最多 %(days)s 天（企业微信只保留 180 天的数据）"), days=MAX_DAYS)
    return Period(first, last)


@dataclass
class Tree:
    """The departments an account may see, as (department, depth) in tree order, and who it may see."""

    rows: list[tuple[Department, int]]
    scope: Scope
    everything: bool

    @property
    def ids(self) -> set[int]:
        return {d.id for d, _depth in self.rows}


def department_tree(user) -> Tree:
    """Admins (and every role but supervisor) see every department; a supervisor the ones they lead and below."""
    scope = scope_for(user)
    departments = db.session.scalars(select(Department).where(Department.removed_at.is_(None))
                                     .order_by(Department.order.desc(), Department.id)).all()
    if user.role == Role.SUPERVISOR:
        staff = db.session.scalar(select(Staff).where(Staff.userid == user.wecom_userid)) \
            if getattr(user, "wecom_userid", None) else None
        allowed = with_sub_departments(led_department_ids(staff)) if staff else set()
    else:
        allowed = {d.id for d in departments}
    children: dict[int | None, list[Department]] = {}
    for d in departments:
        if d.id in allowed:
            children.setdefault(d.parent_id if d.parent_id in allowed else None, []).append(d)
    rows: list[tuple[Department, int]] = []

    def walk(parent, depth):
        for d in children.get(parent, []):
            rows.append((d, depth))
            walk(d.id, depth + 1)
    walk(None, 0)
    return Tree(rows, scope, scope.everything)


def selected_staff(tree: Tree, department_id: int | None) -> list[Staff]:
    """The members with customer contact in a department and below (or everyone the account sees)."""
    query = select(Staff).options(load_only(Staff.userid, Staff.name, Staff.position, Staff.department_ids)).where(
        Staff.removed_at.is_(None), Staff.is_follow_user.is_(True), tree.scope.staff_filter(Staff.userid)) \
        .order_by(Staff.name, Staff.userid)
    staff = db.session.scalars(query).all()
    if department_id is None:
        return list(staff)
    if department_id not in tree.ids:
        raise NotInScope(N_("部门 %(id)s 不存在，或不在您负责的部门之内"), id=department_id)
    inside = with_sub_departments({department_id})
    return [s for s in staff if inside & set(s.department_ids or [])]


@dataclass
class Overview:
    period: Period
    department: Department | None
    totals: dict
    series: dict[str, list]       # figure key -> one value per day
    rows: list[tuple[Staff, dict]]
    labels: dict[str, str]        # userid -> the name shown (same-named members told apart)
    tree: Tree
    userids: list[str] | None     # the selection (None: every staff member) and its roll-up key
    key: str | None
    as_of: datetime | None        # when today's figures were summed (None: today is not in the period)

    def rows_over(self, period: Period) -> list[tuple[Staff, dict]]:
        """The same members' figures over another period (the monthly star)."""
        per_staff = rollup.collect(self.userids, period, self.key).per_staff()
        return [(s, per_staff[s.userid].figures) for s, _f in self.rows]


def _series(collector: Collector) -> dict[str, list]:
    days = collector.per_day()
    figures = [days[d].figures for d in collector.period.days]
    return {key: [f[key] for f in figures] for key in figures[0]} if figures else {}


def _selection_key(tree: Tree, department_id: int | None) -> str | None:
    """The roll-up selection the overview's staff are: the company, the department asked for, or the one department
    a supervisor leads (the roll-up checks it still holds the same members)."""
    if department_id is not None:
        return rollup.department_key(department_id)
    if tree.everything:
        return rollup.ALL
    roots = [d for d, depth in tree.rows if depth == 0]
    return rollup.department_key(roots[0].id) if len(roots) == 1 else None


def overview(user, department_id: int | None, period: Period) -> Overview:
    tree = department_tree(user)
    staff = selected_staff(tree, department_id)
    whole = tree.everything and department_id is None
    userids, key = None if whole else [s.userid for s in staff], _selection_key(tree, department_id)
    collector = rollup.collect(userids, period, key)
    per_staff = collector.per_staff()
    rows = [(s, per_staff[s.userid].figures) for s in staff]
    department = db.session.get(Department, department_id) if department_id is not None else None
    return Overview(period, department, collector.total().figures, _series(collector), rows,
                    staff_labels(s.userid for s in staff), tree, userids, key, collector.as_of)


@dataclass
class Scorecard:
    staff: Staff
    period: Period
    totals: dict
    series: dict[str, list]
    lost: list[tuple[FollowRelation, Customer | None]]
    label: str                    # the name shown (same-named members told apart)
    as_of: datetime | None        # as Overview.as_of


def scorecard(user, userid: str, period: Period) -> Scorecard:
    scope = scope_for(user)
    staff = db.session.scalar(select(Staff).where(Staff.userid == userid, scope.staff_filter(Staff.userid)))
    if staff is None:
        raise NotInScope(N_("员工 %(userid)s 不存在，或不在您负责的部门之内"), userid=userid[:64])
    collector = rollup.collect([userid], period)
    start, end = period.bounds()
    r = FollowRelation
    lost = db.session.execute(select(r, Customer).outerjoin(Customer, Customer.external_userid == r.external_userid)
                              .where(r.userid == userid, r.ended_at >= start, r.ended_at < end)
                              .order_by(r.ended_at.desc())).all()
    return Scorecard(staff, period, collector.total().figures, _series(collector), [tuple(row) for row in lost],
                     staff_labels([userid]).get(userid, staff.name), collector.as_of)


def audit_export(page: str, target: str, period: Period, rows: int) -> None:
    """An export of staff performance goes to the audit log (who took which figures out)."""
    with transaction():
        record("team.exported", target=target, details={"page": page, "start": period.first.isoformat(),
                                                        "end": period.last.isoformat(), "rows": rows})
