"""预警: the rules checked after each roll-up build, one alert per breach, told to the supervisor by WeCom app message.

Rules (the handbook's):
- under_target (red): a targeted figure 20 % or more under its target month to date (attainment < 80 %);
- attainment_low (amber): the overall KPI attainment of a department or member with two or more targets below 80 %
  (each figure's attainment capped at 120 %, weighed by its class 60/30/10, app/team/ranking.py);
- adds_drop (amber): a department's new customers of yesterday 20 % or more below the day before (from at least
  MIN_ADDS), with the channels and members that explain the drop.
An alert opens the first run that sees a breach and stays the same alert while it lasts (a run that sees it again
only refreshes its figures); it closes the first run that no longer sees it, and a later breach is a new alert.
The message goes once per alert (idempotent per alert and recipient) to the leaders of the department concerned
(for a member: of the nearest department above them that has a leader).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import func, select

from app.contacts.models import Department, FollowRelation, Staff
from app.contacts.staff_labels import staff_labels
from app.core import settings
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.staffmsg.service import notify
from app.team import goals, rollup
from app.team.figures import Period, Totals, local_date
from app.team.models import Alert, Target
from app.team.ranking import CLASS_OF, DEFAULT_WEIGHTS, weights_of
from app.welcome.models import Channel

log = logging.getLogger("scrm.team.alerts")

DROP = 0.2       # a day's adds this much below the day before is an anomaly
MIN_ADDS = 10    # ... when the day before had at least this many (smaller numbers swing by chance)
CAP = 1.2        # one figure's attainment counts at most this much toward the overall
TOP = 5          # rows of a breakdown
NO_LEADER = "no_leader"  # notify_error: no department above has a leader to tell
FIGURE_CLASS = {**CLASS_OF, "adds": "core", "orders": "core", "losses": "behavior"}
RULE_LABELS = {"under_target": N_("低于目标 20%"), "attainment_low": N_("KPI 达成率低于 80%"),
               "adds_drop": N_("新增客户环比下降 20%")}


def _members() -> dict[str, set[str]]:
    return rollup.selections()


def _leaders_of(department_ids: list[int], parents: dict, leaders: dict, exclude: str = "") -> list[str]:
    """The leaders of the nearest department (walking up) that has some, other than `exclude`."""
    for department in department_ids:
        seen = set()
        while department in parents and department not in seen:
            seen.add(department)
            found = [u for u in leaders.get(department) or [] if u != exclude]
            if found:
                return sorted(found)
            department = parents[department]
    return []


def _adds_by(column, userids: set[str], days: list[date]) -> dict[str, list[int]]:
    """{value of `column`: adds on each of `days`} of these members' relations (the roll-up's adds, by day added)."""
    r = FollowRelation
    zone = settings.corp_timezone()
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=zone)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    day = local_date(r.added_at)
    counts: dict[str, list[int]] = {}
    for value, on, n in db.session.execute(select(column, day, func.count()).where(
            r.userid.in_(sorted(userids)), r.added_at >= start, r.added_at < end).group_by(column, day)):
        counts.setdefault(value or "", [0] * len(days))[days.index(date.fromisoformat(str(on)[:10]))] += n
    return counts


def _channel_breakdown(userids: set[str], days: list[date]) -> list[dict]:
    """Adds per channel (the relation's state) on each of `days`, the biggest drop first."""
    names = dict(db.session.execute(select(Channel.state, Channel.name).where(Channel.state.is_not(None))).all())
    rows = [{"channel": names.get(state, state), "state": state, "days": values, "change": values[-1] - values[0]}
            for state, values in _adds_by(FollowRelation.state, userids, days).items()]
    return sorted(rows, key=lambda row: row["change"])[:TOP]


def _staff_breakdown(per_staff: dict, userids: set[str], figure: str, labels: dict) -> list[dict]:
    """The members of a department on `figure`, the furthest behind first."""
    higher = goals.FIGURES[figure][2]
    values = {u: (per_staff[u] if u in per_staff else Totals()).figures[figure] for u in sorted(userids)}
    rows = [{"userid": u, "name": labels.get(u, u), "value": v} for u, v in values.items() if v is not None]
    return sorted(rows, key=lambda row: row["value"] if higher else -row["value"])[:TOP]


class Evaluation:
    """One run over the month to date: the breaches found, by key."""

    def __init__(self, today: date):
        self.today = today
        self.month = (today - timedelta(days=1)).strftime("%Y-%m")
        self.period = goals.month_to_date(self.month, today)
        self.share = len(self.period.days) / len(goals.month_days(self.month).days)
        self.members = _members()
        self.breaches: dict[str, dict] = {}
        staff = db.session.execute(select(Staff.userid, Staff.name, Staff.position, Staff.department_ids)
                                   .where(Staff.removed_at.is_(None), Staff.is_follow_user.is_(True))).all()
        self.position = {u: p or "" for u, _n, p, _d in staff}
        self.departments_of = {u: d or [] for u, _n, _p, d in staff}
        self.labels = staff_labels(self.position)
        self.per_staff = rollup.collect(None, self.period, rollup.ALL).per_staff()

    def _breach(self, rule: str, level: str, kind: str, value: str, figure: str, period: str, details: dict):
        key = f"{rule}|{kind}:{value}|{figure}|{period}"
        self.breaches[key] = {"rule": rule, "level": level, "scope_kind": kind, "scope_value": value,
                              "figure": figure, "period": period, "details": details}

    def _subject_figures(self, kind: str, value: str) -> dict | None:
        if kind == "staff":
            return self.per_staff[value].figures if value in self.per_staff else \
                rollup.collect([value], self.period).total().figures
        key = rollup.department_key(int(value))
        userids = sorted(self.members.get(key, set()))
        return rollup.collect(userids, self.period, key).total().figures

    def targets(self) -> None:
        """under_target and attainment_low over every target of the month (role targets: each member of the role
        without a target of their own on that figure)."""
        rows = db.session.scalars(select(Target).where(Target.month == self.month)).all()
        subjects: dict[tuple[str, str], dict[str, float]] = {}
        for t in rows:
            if t.scope_kind in ("department", "staff"):
                subjects.setdefault((t.scope_kind, t.scope_value), {})[t.figure] = float(t.value)
        for t in rows:
            if t.scope_kind == "role":
                for userid, position in self.position.items():
                    if position == t.scope_value:
                        subjects.setdefault(("staff", userid), {}).setdefault(t.figure, float(t.value))
        for (kind, value), targets in subjects.items():
            if kind == "staff" and value not in self.position:
                continue  # a member who left
            if kind == "department" and rollup.department_key(int(value)) not in self.members:
                continue  # a department with no member (or gone)
            figures = self._subject_figures(kind, value)
            ratios = {}
            for figure, target in targets.items():
                got = goals.attainment(figure, target, figures.get(figure), self.share)
                if got.ratio is None:
                    continue
                ratios[figure] = got.ratio
                if got.ratio < goals.AMBER:
                    self._breach("under_target", "red", kind, value, figure, self.month, {
                        "target": got.target, "expected": got.expected, "actual": got.actual, "ratio": got.ratio,
                        "days": len(self.period.days), "breakdown": self._breakdown(kind, value, figure)})
            if len(ratios) >= 2:
                overall = self.overall(kind, value, ratios)
                if overall < goals.AMBER:
                    self._breach("attainment_low", "amber", kind, value, "", self.month, {
                        "ratio": overall, "figures": ratios})

    def overall(self, kind: str, value: str, ratios: dict[str, float]) -> float:
        weights = dict(zip(("core", "process", "behavior"),
                           weights_of({self.position.get(value, "")})[self.position.get(value, "")]
                           if kind == "staff" else DEFAULT_WEIGHTS))
        classes: dict[str, list[float]] = {}
        for figure, ratio in ratios.items():
            classes.setdefault(FIGURE_CLASS.get(figure, "core"), []).append(min(ratio, CAP))
        total = sum(weights[c] for c in classes)
        if not total:
            return round(sum(sum(v) / len(v) for v in classes.values()) / len(classes), 4)
        return round(sum(weights[c] * sum(v) / len(v) for c, v in classes.items()) / total, 4)

    def _breakdown(self, kind: str, value: str, figure: str) -> dict:
        """Which members (of a department) and which channels (for adds) explain a figure."""
        userids = {value} if kind == "staff" else self.members.get(rollup.department_key(int(value)), set())
        out = {}
        if kind == "department":
            out["staff"] = _staff_breakdown(self.per_staff, userids, figure, self.labels)
        if figure in ("adds", "net_new") and userids:
            out["channels"] = _channel_breakdown(userids, self.period.days[-2:] if len(self.period.days) > 1
                                                 else self.period.days)
        return out

    def adds_drop(self, department_ids: list[int]) -> None:
        """Yesterday's adds against the day before, per department with a leader (someone to tell)."""
        yesterday = self.today - timedelta(days=1)
        days = [yesterday - timedelta(days=1), yesterday]
        for department in department_ids:
            key = rollup.department_key(department)
            userids = sorted(self.members.get(key, set()))
            if not userids:
                continue
            per_day = rollup.collect(userids, Period(*days), key)
            before, after = (per_day.per_day()[d].figures["adds"] for d in days)
            if before >= MIN_ADDS and after <= before * (1 - DROP):
                staff = [{"userid": u, "name": self.labels.get(u, u), "days": values, "change": values[-1] - values[0]}
                         for u, values in _adds_by(FollowRelation.userid, set(userids), days).items()]
                staff = sorted(staff, key=lambda row: row["change"])[:TOP]
                self._breach("adds_drop", "amber", "department", str(department), "adds", yesterday.isoformat(), {
                    "days": [d.isoformat() for d in days], "adds": [before, after],
                    "ratio": round(after / before - 1, 4),
                    "breakdown": {"channels": _channel_breakdown(set(userids), days), "staff": staff}})


def evaluate(today: date | None = None) -> dict:
    """Check every rule, open new alerts (and queue their messages), refresh the open ones, close the ended ones."""
    today = today or datetime.now(settings.corp_timezone()).date()
    run = Evaluation(today)
    run.targets()
    departments = db.session.execute(select(Department.id, Department.parent_id, Department.leader_userids,
                                            Department.removed_at)).all()
    parents = {d: p for d, p, _l, _r in departments}
    leaders = {d: l for d, _p, l, _r in departments}
    run.adds_drop([d for d, _p, l, removed in departments if l and removed is None])
    opened = closed = 0
    now = utcnow()
    with transaction():
        current = {a.key: a for a in db.session.scalars(select(Alert).where(Alert.closed_at.is_(None)))}
        for key, breach in run.breaches.items():
            if key in current:
                current[key].details = breach["details"]
                continue
            alert = Alert(key=key, opened_at=now, **breach)
            db.session.add(alert)
            db.session.flush()
            _tell(alert, parents, leaders, run.departments_of, run.labels)
            opened += 1
        for key, alert in current.items():
            if key not in run.breaches:
                alert.closed_at = now
                closed += 1
    log.info("team alerts: %d breaches, %d opened, %d closed", len(run.breaches), opened, closed)
    return {"breaches": len(run.breaches), "opened": opened, "closed": closed}


def describe(alert: Alert, labels: dict | None = None) -> tuple[str, str]:
    """(title, body) of an alert, as the message and the pages say it."""
    who = goals.scope_name(alert.scope_kind, alert.scope_value, labels)
    d = alert.details or {}
    ratio, drop = f"{d.get('ratio', 0) * 100:.0f}%", f"{-d.get('ratio', 0) * 100:.0f}%"
    if alert.rule == "under_target":
        return (_("预警：%(who)s %(figure)s低于目标", who=who, figure=_(goals.FIGURES[alert.figure][0])),
                _("%(month)s 截至第 %(days)s 天：实际 %(actual)s，按进度应达 %(expected)s，达成率 %(ratio)s",
                  month=alert.period, days=d.get("days"), actual=_show(alert.figure, d.get("actual")),
                  expected=_show(alert.figure, d.get("expected")), ratio=ratio))
    if alert.rule == "attainment_low":
        return (_("预警：%(who)s KPI 达成率 %(ratio)s", who=who, ratio=ratio),
                _("%(month)s 各项目标的综合达成率低于 80%%", month=alert.period))
    adds = d.get("adds", [0, 0])
    return (_("预警：%(who)s 新增客户环比下降 %(drop)s", who=who, drop=drop),
            _("%(day)s 新增 %(after)s，前一天 %(before)s", day=alert.period, after=adds[1], before=adds[0]))


def _show(figure: str, value) -> str:
    from app.team.report import show
    return show(figure, int(value) if goals.FIGURES[figure][1] in ("count", "money") and value is not None
                else value)


def _tell(alert: Alert, parents, leaders, departments_of, labels) -> None:
    if alert.scope_kind == "department":
        to = _leaders_of([int(alert.scope_value)], parents, leaders)
    else:
        to = _leaders_of(departments_of.get(alert.scope_value, []), parents, leaders, exclude=alert.scope_value)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # a job: no reader, the console's language
        title, body = describe(alert, labels)
    for userid in to:
        notify(userid, f"team.alert:{alert.id}:{userid}", title, body, url=f"/team/goals#alert-{alert.id}",
               feature="team")
    if to:
        alert.notified_at = utcnow()
    else:
        alert.notify_error = NO_LEADER
