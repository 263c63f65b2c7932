"""Team pages on the `team` blueprint: 排名 (rankings per role, weights, the monthly star) and 目标与预警 (targets,
their attainment month to date, alerts), each with its Excel export; the figures come from app/team/report.py."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.export import COUNT, DECIMAL, RATE, requested_format, table_response
from app.core.guard import requires
from app.core.permissions import Permission as P, Role
from app.team import goals, ranking, report, scoreboard
from app.team.alerts import NO_LEADER, RULE_LABELS, describe
from app.team.ranking import CLASSES
from app.team.views import _department, _load, bp
from app.web import error_page


def _ranked(data) -> list[tuple[str, tuple, list]]:
    return [(role, weights, ranked) for role, (weights, ranked) in ranking.rankings(data.rows).items()]


@bp.get("/ranking", endpoint="ranking")
@requires(P.TEAM_VIEW)
def ranking_page():
    department_id = _department()
    data = _load(report.overview, department_id)
    return render_template("team/ranking.html", data=data, roles=_ranked(data), classes=CLASSES,
                           figure_labels=ranking.FIGURE_LABELS,
                           tree=data.tree, department_id=department_id,
                           max_days=report.MAX_DAYS, can_weigh=current_user.role == Role.ADMIN,
                           default=ranking.weights_of({""})[""])


@bp.get("/ranking/export", endpoint="ranking_export")
@requires(P.TEAM_VIEW)
def ranking_export():
    department_id = _department()
    data = _load(report.overview, department_id)
    header = [_("职务"), _("权重"), _("排名"), _("员工"), "userid", _("综合得分"),
              *[_(label) for label, _figures in CLASSES.values()]]
    rows = [[role or _("未设置职务"), "/".join(map(str, weights)), r.rank, data.labels.get(r.staff.userid, r.staff.name),
             r.staff.userid, r.score, *[r.classes[name] for name in CLASSES]]
            for role, weights, ranked in _ranked(data) for r in ranked]
    report.audit_export("ranking", str(department_id or ""), data.period, len(rows))
    stem = f"team-ranking-{data.period.first.isoformat()}-{data.period.last.isoformat()}"
    return table_response(requested_format(request.args.get("format")), header, rows, stem, _("绩效排名"),
                          [None, None, COUNT, None, None, *[DECIMAL] * (1 + len(CLASSES))])


@bp.post("/ranking/weights", endpoint="weights")
@requires(P.TEAM_MANAGE)
def weights():
    if current_user.role != Role.ADMIN:
        abort(error_page(403, _("排名权重适用于全公司，只有管理员可以修改")))
    form = request.form
    try:
        ranking.save_weights(form.get("role", ""), ranking.parse_weights(form.get("core"), form.get("process"),
                                                                        form.get("behavior")), current_user.username)
        flash(_("权重已保存"), "success")
    except ranking.WeightsError as exc:
        flash(exc.localized(), "danger")
    return redirect(request.form.get("next") or url_for("team.ranking"))


def _month_board():
    """The reader's department tree, the month asked for (this month by default; a malformed one is a 400) and the
    goal board of that month."""
    tree = report.department_tree(current_user)
    month = request.args.get("month") or report.today().strftime("%Y-%m")
    try:
        goals.check_month(month)
    except goals.TargetError as exc:
        abort(error_page(400, exc.localized()))
    return tree, month, scoreboard.board(current_user, tree, month)


@bp.get("/goals", endpoint="goals")
@requires(P.TEAM_VIEW)
def goals_page():
    tree, month, board = _month_board()
    alerts = scoreboard.visible_alerts(tree, open_only=False)
    return render_template("team/goals.html", board=board, alerts=alerts, tree=tree, month=month,
                           figures=goals.FIGURES, scopes=goals.SCOPES, rules=RULE_LABELS, describe=describe,
                           can_edit=current_user.can(P.TEAM_MANAGE), is_admin=current_user.role == Role.ADMIN,
                           staff=scoreboard.staff_choices(tree), roles=scoreboard.roles(tree), labels=board.labels,
                           goal_value=scoreboard.goal_value, percent=scoreboard.percent, explain=scoreboard.explain,
                           colour_labels=scoreboard.COLOUR_LABELS, show_value=scoreboard.goal_value)


@bp.post("/goals", endpoint="goal_save")
@requires(P.TEAM_MANAGE)
def goal_save():
    tree = report.department_tree(current_user)
    f = request.form
    try:
        goals.save(current_user, tree, f.get("month", ""), f.get("scope_kind", ""), f.get("scope_value", ""),
                   f.get("figure", ""), f.get("value", ""))
        flash(_("目标已保存"), "success")
    except goals.TargetError as exc:
        flash(exc.localized(), "danger")
    return redirect(url_for("team.goals", month=f.get("month") or None))


@bp.post("/goals/<int:target_id>/delete", endpoint="goal_delete")
@requires(P.TEAM_MANAGE)
def goal_delete(target_id: int):
    try:
        goals.delete(current_user, report.department_tree(current_user), target_id)
        flash(_("目标已删除"), "success")
    except goals.TargetError as exc:
        abort(error_page(404, exc.localized()))
    return redirect(url_for("team.goals", month=request.form.get("month") or None))


@bp.get("/goals/export", endpoint="goals_export")
@requires(P.TEAM_VIEW)
def goals_export():
    _tree, month, board = _month_board()
    header = [_("月份"), _("对象类型"), _("对象"), _("指标"), _("月目标"), _("按进度应达"), _("实际"), _("达成率"),
              _("状态")]
    rows = [[month, _(goals.SCOPES[line.target.scope_kind]), line.name, _(goals.FIGURES[line.target.figure][0]),
             *[report.exported(line.target.figure, value) for value in
               (line.attainment.target, line.attainment.expected, line.attainment.actual)],
             line.attainment.ratio, scoreboard.COLOUR_LABELS[line.attainment.colour]] for line in board.lines]
    report.audit_export("goals", month, goals.month_days(month), len(rows))
    by_label = {_(label): report.EXCEL_FORMATS[kind] for label, kind, _up in goals.FIGURES.values()}

    def figure_format(row) -> str:  # the three figure columns are shown as each row's figure is
        return by_label[row[3]]
    return table_response(requested_format(request.args.get("format")), header, rows, f"team-goals-{month}",
                          _("目标与预警"), [None] * 4 + [figure_format] * 3 + [RATE])


@bp.get("/alerts/export", endpoint="alerts_export")
@requires(P.TEAM_VIEW)
def alerts_export():
    tree = report.department_tree(current_user)
    alerts = scoreboard.visible_alerts(tree, open_only=False)
    labels = scoreboard.alert_labels(alerts)
    header = [_("编号"), _("规则"), _("级别"), _("对象"), _("期间"), _("内容"), _("说明"), _("开始"), _("结束"),
              _("已通知主管")]
    rows = []
    for a in alerts:
        title, body = describe(a, labels)
        rows.append([a.id, _(RULE_LABELS[a.rule]), _("红") if a.level == "red" else _("黄"),
                     goals.scope_name(a.scope_kind, a.scope_value, labels), a.period, title, body,
                     a.opened_at, a.closed_at, a.notified_at or
                     (_("没有可通知的部门负责人") if a.notify_error == NO_LEADER else a.notify_error)])
    today = report.today()
    report.audit_export("alerts", "", report.Period(today - timedelta(days=1), today), len(rows))
    return table_response(requested_format(request.args.get("format")), header, rows, "team-alerts", _("预警"))
