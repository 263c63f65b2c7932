"""Rankings per staff role (WeCom 职务) with the handbook's KPI weights 60/30/10, and the monthly 「私域运营之星」.

The three weight classes (the handbook weighs a role's KPIs 60/30/10; which figure sits where is decided here):
- 核心结果 (60 %): what the role is for — net new customers, and the GMV of the customers the member follows;
- 过程执行 (30 %): doing the operating process — push execution rate, reply rate, welcome success rate, follow-up
  SLA attainment (tasks done within their time);
- 行为质量 (10 %): how it is done — reply time (shorter is better), group activity, customers the member deleted
  (fewer is better).
Each figure is scored among the members of the same role as a percentile (the share of peers it beats, ties count
half; 100 when alone); a class scores the mean of its figures that were measured (none measured: 0), and the total
is the weighted sum of the classes. The weights are edited per role; a role without its own uses the default row ("").
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from app.contacts.models import Staff
from app.core.audit import record
from app.core.db import transaction
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.team import rollup
from app.team.figures import Period
from app.team.models import Weights

DEFAULT_WEIGHTS = (60, 30, 10)
# class -> (label, ((figure, higher is better), ...))
CLASSES = {
    "core": (N_("核心结果"), (("net_new", True), ("gmv_fen", True))),
    "process": (N_("过程执行"), (("push_rate", True), ("reply_rate", True), ("welcome_rate", True),
                                ("sla_rate", True))),
    "behavior": (N_("行为质量"), (("reply_minutes", False), ("group_activity", True), ("lost_by_staff", False))),
}
FIGURE_LABELS = {"net_new": N_("净增客户"), "gmv_fen": N_("客户成交额 GMV"), "push_rate": N_("群发执行率"),
                 "reply_rate": N_("回复率"), "welcome_rate": N_("欢迎语成功率"), "reply_minutes": N_("平均回复时长"),
                 "group_activity": N_("群活跃度"), "lost_by_staff": N_("员工删除客户"),
                 "sla_rate": N_("跟进SLA达成率")}
CLASS_OF = {figure: name for name, (_label, figures) in CLASSES.items() for figure, _up in figures}
HIGHER_IS_BETTER = {figure: up for _label, figures in CLASSES.values() for figure, up in figures}


class WeightsError(UserError):
    """Weights that are not three whole percentages adding up to 100."""


@dataclass
class Ranked:
    staff: Staff
    classes: dict[str, float]   # class -> 0..100
    score: float                # 0..100
    rank: int                   # 1 = best within the role


def weights_of(roles: set[str]) -> dict[str, tuple[int, int, int]]:
    """Each role's (core, process, behavior) weights: its own row, else the default row, else 60/30/10."""
    rows = {w.role: (w.core, w.process, w.behavior) for w in db.session.scalars(select(Weights))}
    default = rows.get("", DEFAULT_WEIGHTS)
    return {role: rows.get(role, default) for role in roles}


def percentile_scores(values: dict[str, float | None], higher_is_better: bool) -> dict[str, float]:
    """{key: 0..100} for the measured values: the share of the other measured values this one beats, ties half
    (sorted once: a role of thousands of members is ranked in milliseconds)."""
    measured = {k: (v if higher_is_better else -v) for k, v in values.items() if v is not None}
    if len(measured) == 1:
        return {k: 100.0 for k in measured}
    ordered = sorted(measured.values())
    others = len(measured) - 1
    out = {}
    for key, value in measured.items():
        below, upto = bisect_left(ordered, value), bisect_right(ordered, value)
        out[key] = round(100 * (below + (upto - below - 1) / 2) / others, 1)
    return out


def rank_role(members: list[tuple[Staff, dict]], weights: tuple[int, int, int]) -> list[Ranked]:
    """The members of one role, best first (score, then name and userid for a stable order)."""
    scores = {figure: percentile_scores({s.userid: f[figure] for s, f in members}, up)
              for figure, up in HIGHER_IS_BETTER.items()}
    ranked = []
    for staff, _figures in members:
        classes = {}
        for name, (_label, figures) in CLASSES.items():
            got = [scores[figure][staff.userid] for figure, _up in figures if staff.userid in scores[figure]]
            classes[name] = round(sum(got) / len(got), 1) if got else 0.0
        total = sum(w * classes[name] for w, name in zip(weights, CLASSES)) / 100
        ranked.append(Ranked(staff, classes, round(total, 1), 0))
    ranked.sort(key=lambda r: (-r.score, r.staff.name, r.staff.userid))
    for i, r in enumerate(ranked, 1):
        r.rank = i
    return ranked


def rankings(rows: list[tuple[Staff, dict]]) -> dict[str, tuple[tuple[int, int, int], list[Ranked]]]:
    """{role: (weights, ranked members)} of an overview's member rows, roles in name order."""
    roles: dict[str, list[tuple[Staff, dict]]] = {}
    for staff, figures in rows:
        roles.setdefault(staff.position or "", []).append((staff, figures))
    weights = weights_of(set(roles))
    return {role: (weights[role], rank_role(members, weights[role])) for role, members in sorted(roles.items())}


def last_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def stars(rows: list[tuple[Staff, dict]]) -> list[tuple[str, Ranked]]:
    """「私域运营之星」: the first of each role with at least two members, (role, ranked), best score first."""
    found = [(role, ranked[0]) for role, (_w, ranked) in rankings(rows).items() if len(ranked) >= 2]
    return sorted(found, key=lambda item: -item[1].score)


_STARS: dict[tuple, list] = {}


def stars_of(data, month: Period) -> list[tuple[str, Ranked]]:
    """The stars of an overview's members over a complete month, kept per process until the roll-up is rebuilt
    or the weights change (the month's figures are the roll-up's, so they change only then)."""
    changed = db.session.scalar(select(func.max(Weights.updated_at)))
    key = (data.key, hash(tuple(s.userid for s, _f in data.rows)), month.first, rollup.built_at(), changed)
    if key not in _STARS:
        if len(_STARS) > 64:
            _STARS.clear()
        _STARS[key] = stars(data.rows_over(month))
    return _STARS[key]


def parse_weights(core: str, process: str, behavior: str) -> tuple[int, int, int]:
    values = []
    for text, label in ((core, N_("核心结果")), (process, N_("过程执行")), (behavior, N_("行为质量"))):
        if not (text or "").strip().isdigit() or int(text) > 100:
            raise WeightsError(N_("「%(label)s」的权重必须是 0–100 的整数"), label=label)
        values.append(int(text))
    if sum(values) != 100:
        raise WeightsError(N_("三类权重相加必须等于 100（现在是 %(sum)s）"), sum=sum(values))
    return values[0], values[1], values[2]


def save_weights(role: str, weights: tuple[int, int, int], actor: str) -> None:
    """Set a role's weights ("" for the default of every role without its own), audited."""
    if len(role) > 128:
        raise WeightsError(N_("职务名称过长"))
    with transaction():
        row = db.session.get(Weights, role) or Weights(role=role)
        before = (row.core, row.process, row.behavior) if row.core is not None else None
        row.core, row.process, row.behavior, row.updated_by = *weights, actor
        db.session.add(row)
        record("team.weights_changed", target=role or "*", details={"before": before, "after": list(weights)})
