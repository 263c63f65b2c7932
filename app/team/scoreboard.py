"""What the goal pages, the overview's tiles and the home page show of targets and alerts, limited to what an
account may see: a supervisor only the departments they lead (and below) and their members."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.models import Staff
from app.contacts.staff_labels import staff_labels
from app.core.permissions import N_
from app.extensions import db
from app.home.cards import Card
from app.team import goals, rollup
from app.team.alerts import describe
from app.team.figures import Period
from app.team.models import Alert, Target
from app.team.report import Tree, department_tree, selected_staff, show, today

COLOUR_LABELS = {"green": N_("达标"), "amber": N_("接近目标"), "red": N_("低于目标 20%"), "": N_("尚无数据")}


@dataclass
class Line:
    target: Target
    name: str
    attainment: goals.Attainment


@dataclass
class Board:
    month: str
    period: Period | None     # the complete days of the month so far
    lines: list[Line]
    labels: dict[str, str]


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def goal_value(figure: str, value: float | None) -> str:
    """A target, an expectation or an actual as the figure is shown (counts and fen whole)."""
    if value is not None and goals.FIGURES[figure][1] in ("count", "money"):
        value = round(value)
    return show(figure, value)


def _figures_of(tree: Tree, kind: str, value: str, period: Period) -> dict:
    """Month-to-date figures of a target's scope (a department as the overview makes it, or one member)."""
    if kind == "department":
        staff = selected_staff(tree, int(value))
        return rollup.collect([s.userid for s in staff], period, rollup.department_key(int(value))).total().figures
    return rollup.collect([value], period).total().figures


def board(user, tree: Tree, month: str) -> Board:
    """The month's targets this account may see, each with its attainment so far; a role target is shown once per
    member of the role the account sees (each member is measured against it)."""
    period = goals.month_to_date(month, today())
    share = len(period.days) / len(goals.month_days(month).days) if period else 0.0
    targets = [t for t in db.session.scalars(select(Target).where(Target.month == month)
                                             .order_by(Target.scope_kind, Target.scope_value, Target.figure))
               if goals.visible(user, tree, t)]
    seen_staff = {s.userid: s for s in selected_staff(tree, None)}
    userids = {t.scope_value for t in targets if t.scope_kind == "staff"} | set(seen_staff)
    labels = staff_labels(userids)
    lines, cache = [], {}
    for t in targets:
        subjects = [(t.scope_kind, t.scope_value)] if t.scope_kind != "role" else \
            [("staff", u) for u, s in seen_staff.items() if (s.position or "") == t.scope_value]
        for kind, value in subjects:
            if period is None:
                figures = {}
            else:
                if (kind, value) not in cache:
                    cache[(kind, value)] = _figures_of(tree, kind, value, period)
                figures = cache[(kind, value)]
            name = goals.scope_name(kind, value, labels)
            if t.scope_kind == "role":
                name = f"{name} · {t.scope_value}"
            lines.append(Line(t, name, goals.attainment(t.figure, float(t.value), figures.get(t.figure), share)))
    return Board(month, period, lines, labels)


def _tile_month() -> tuple[str, Period]:
    """The month the tiles compare against: this month to date, or on the 1st last month complete."""
    day = today()
    month = day.strftime("%Y-%m")
    period = goals.month_to_date(month, day)
    if period is None:
        month = (day - timedelta(days=1)).strftime("%Y-%m")
        period = goals.month_to_date(month, day)
    return month, period


def _attained(targets: dict[str, Target], figures: dict, month: str, period: Period) -> dict:
    share = len(period.days) / len(goals.month_days(month).days)
    return {f: (goals.attainment(f, float(t.value), figures.get(f), share), month) for f, t in targets.items()}


def tile_targets(tree: Tree, department_id: int | None) -> dict[str, tuple[goals.Attainment, str]]:
    """{figure: (attainment, month)} of the overview's department (or the one department a supervisor leads, or the
    company's top department) this month, for the tiles' red/amber/green."""
    roots = [d for d, depth in tree.rows if depth == 0]
    department = department_id if department_id is not None else roots[0].id if len(roots) == 1 else None
    if department is None:
        return {}
    month, period = _tile_month()
    targets = db.session.scalars(select(Target).where(Target.month == month, Target.scope_kind == "department",
                                                      Target.scope_value == str(department))).all()
    if not targets:
        return {}
    return _attained({t.figure: t for t in targets}, _figures_of(tree, "department", str(department), period),
                     month, period)


def staff_targets(staff: Staff) -> dict[str, tuple[goals.Attainment, str]]:
    """{figure: (attainment, month)} of a member's own targets this month (their role's where they have none of
    their own on a figure, as the alerts measure them), for the scorecard's tiles."""
    month, period = _tile_month()
    mine = (Target.scope_kind == "staff") & (Target.scope_value == staff.userid)
    role = (Target.scope_kind == "role") & (Target.scope_value == (staff.position or ""))
    rows = db.session.scalars(select(Target).where(Target.month == month, mine | role)).all()
    targets: dict[str, Target] = {}
    for t in sorted(rows, key=lambda t: t.scope_kind != "staff"):
        targets.setdefault(t.figure, t)
    if not targets:
        return {}
    return _attained(targets, rollup.collect([staff.userid], period).total().figures, month, period)


def visible_alerts(tree: Tree, open_only: bool = True, limit: int = 200) -> list[Alert]:
    """Alerts of the departments and members this account may see, the open and newest first."""
    query = select(Alert).order_by(Alert.closed_at.is_not(None), Alert.opened_at.desc(), Alert.id.desc())
    if open_only:
        query = query.where(Alert.closed_at.is_(None))
    if tree.everything:
        return list(db.session.scalars(query.limit(limit)))
    departments = {str(i) for i in tree.ids}
    userids = tree.scope.userids or frozenset()
    return [a for a in db.session.scalars(query)
            if (a.scope_kind == "department" and a.scope_value in departments)
            or (a.scope_kind == "staff" and a.scope_value in userids)][:limit]


def alert_labels(alerts: list[Alert]) -> dict[str, str]:
    return staff_labels(a.scope_value for a in alerts if a.scope_kind == "staff")


def staff_choices(tree: Tree) -> list[tuple[str, str]]:
    """(userid, label) of the members this account may set targets for."""
    staff = selected_staff(tree, None)
    labels = staff_labels(s.userid for s in staff)
    return [(s.userid, labels.get(s.userid, s.name)) for s in staff]


def roles(tree: Tree) -> list[str]:
    return sorted({s.position for s in selected_staff(tree, None) if s.position})


def explain(alert: Alert) -> str:
    """The breakdown of an alert in one line: the channels and members furthest behind."""
    breakdown = (alert.details or {}).get("breakdown") or {}
    parts = []
    for row in breakdown.get("channels", [])[:2]:
        if row["change"] < 0:
            parts.append(_("渠道「%(name)s」%(change)s", name=row["channel"] or _("无渠道"), change=row["change"]))
    for row in breakdown.get("staff", [])[:2]:
        if "change" in row:
            if row["change"] < 0:
                parts.append(_("%(name)s %(change)s", name=row["name"], change=row["change"]))
        else:
            parts.append(f"{row['name']} {show(alert.figure, row['value'])}")
    return "；".join(parts)


def home_cards(user) -> list[Card]:
    """The home page's cards: the open alerts of the departments the account may see (the newest three, each with
    what explains it), or one card saying there are none."""
    alerts = visible_alerts(department_tree(user))
    if not alerts:
        return [Card(_("团队预警"), "0", url_for("team.goals"), _("没有未解除的预警"), "success")]
    labels = alert_labels(alerts)
    cards = []
    for alert in alerts[:3]:
        title, body = describe(alert, labels)
        note = " · ".join(part for part in (body, explain(alert)) if part)
        cards.append(Card(_("团队预警"), title.split("：", 1)[-1], url_for("team.goals", _anchor=f"alert-{alert.id}"),
                          note, "danger" if alert.level == "red" else "warning"))
    if len(alerts) > 3:
        cards.append(Card(_("团队预警"), _("另有 %(n)s 条", n=len(alerts) - 3), url_for("team.goals"), "", "warning"))
    return cards
