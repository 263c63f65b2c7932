"""Team pages (blueprint `team`): the overview of a department (团队总览) and a staff member's scorecard (成员记分卡),
each with its Excel export; the figures and their formatting come from app/team/report.py, as in the API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.export import DATE, requested_format, table_response
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.team import ranking, report, scoreboard
from app.team.alerts import describe
from app.team.report import COLUMN_FORMATS, COLUMNS, TILES, NotInScope, TeamRequestError, exported, show
from app.web import error_page

bp = Blueprint("team", __name__, url_prefix="/team", template_folder="templates")
T = TypeVar("T")


def _load(build: Callable[..., T], *args) -> T:
    """`build(account, *args, period)` for the period asked for: 400 naming a bad field, 404 outside the scope."""
    try:
        return build(current_user, *args, report.parse_period(request.args.get("start"), request.args.get("end")))
    except TeamRequestError as exc:
        abort(error_page(400, exc.localized()))
    except NotInScope as exc:
        abort(error_page(404, exc.localized()))


def _department() -> int | None:
    raw = request.args.get("dept", "")
    if raw and (not raw.isdigit() or len(raw) > 12):
        abort(error_page(400, _("dept 必须是部门 id（整数）")))
    return int(raw) if raw else None


def _chart(period, series: dict) -> dict:
    return {"days": [d.isoformat() for d in period.days], "series": {key: series.get(key, []) for key, _l, _k in TILES},
            "labels": {key: _(label) for key, label, _kind in TILES},
            "kinds": {key: kind for key, _label, kind in TILES}}


MEMBERS_PER_PAGE = 100  # the member table of a whole company is paged; the export and the API have every row


@dataclass
class MemberPage:
    """One page of the overview's member table (the shared `pager` macro reads these names)."""

    rows: list
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // MEMBERS_PER_PAGE))

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def _member_page(rows: list) -> MemberPage:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(error_page(400, _("page 必须是正整数")))
    page = min(int(raw), max(1, -(-len(rows) // MEMBERS_PER_PAGE)))
    return MemberPage(rows[(page - 1) * MEMBERS_PER_PAGE:page * MEMBERS_PER_PAGE], len(rows), page)


@bp.get("/", endpoint="overview")
@requires(P.TEAM_VIEW)
def overview():
    department_id = _department()
    data = _load(report.overview, department_id)
    tree = data.tree
    first, last = ranking.last_month(report.today())
    alerts = scoreboard.visible_alerts(tree)
    return render_template("team/overview.html", data=data, members=_member_page(data.rows), tree=tree, tiles=TILES, columns=COLUMNS, show=show,
                           chart=_chart(data.period, data.series), department_id=department_id,
                           max_days=report.MAX_DAYS, stars=ranking.stars_of(data, report.Period(first, last)),
                           star_month=first, star_labels=data.labels,
                           targets=scoreboard.tile_targets(tree, department_id),
                           alerts=alerts, alert_labels=scoreboard.alert_labels(alerts), describe=describe,
                           explain=scoreboard.explain, percent=scoreboard.percent,
                           goal_value=scoreboard.goal_value)


def _as_of_row(as_of, width: int) -> list[list]:
    """The export's last row when today's figures are in it: when they were summed, as the page says."""
    if as_of is None:
        return []
    return [[_("含今天的数据截至"), as_of, *[None] * (width - 2)]]


@bp.get("/export", endpoint="export")
@requires(P.TEAM_VIEW)
def export():
    department_id = _department()
    data = _load(report.overview, department_id)
    header = [_("员工"), "userid", *[_(label) for _key, label, _kind in COLUMNS]]
    rows = [[data.labels.get(s.userid, s.name), s.userid, *[exported(key, f[key]) for key, _l, _k in COLUMNS]]
            for s, f in data.rows]
    rows.append([_("合计"), "", *[exported(key, data.totals[key]) for key, _l, _k in COLUMNS]])
    rows += _as_of_row(data.as_of, len(header))
    stem = f"team-{data.period.first.isoformat()}-{data.period.last.isoformat()}"
    report.audit_export("overview", str(department_id) if department_id else "", data.period, len(data.rows))
    return table_response(requested_format(request.args.get("format")), header, rows, stem, _("团队总览"),
                          [None, None, *COLUMN_FORMATS])


@bp.get("/staff/<userid>", endpoint="scorecard")
@requires(P.TEAM_VIEW)
def scorecard(userid: str):
    card = _load(report.scorecard, userid)
    return render_template("team/scorecard.html", card=card, tiles=TILES, columns=COLUMNS, show=show,
                           chart=_chart(card.period, card.series), max_days=report.MAX_DAYS,
                           targets=scoreboard.staff_targets(card.staff), percent=scoreboard.percent,
                           goal_value=scoreboard.goal_value)


@bp.get("/staff/<userid>/export", endpoint="scorecard_export")
@requires(P.TEAM_VIEW)
def scorecard_export(userid: str):
    card = _load(report.scorecard, userid)
    header = [_("日期"), *[_(label) for _key, label, _kind in COLUMNS]]
    rows = [[day, *[exported(key, card.series[key][i]) for key, _l, _k in COLUMNS]]
            for i, day in enumerate(card.period.days)]
    rows.append([_("合计"), *[exported(key, card.totals[key]) for key, _l, _k in COLUMNS]])
    rows += _as_of_row(card.as_of, len(header))
    stem = f"scorecard-{card.staff.userid}-{card.period.first.isoformat()}-{card.period.last.isoformat()}"
    report.audit_export("scorecard", card.staff.userid, card.period, len(rows) - 1)
    return table_response(requested_format(request.args.get("format")), header, rows, stem, _("成员记分卡"),
                          [DATE, *COLUMN_FORMATS])


from app.team import goal_views  # noqa: E402,F401  (排名 and 目标与预警 routes on this blueprint)
