"""API v1 routes for team performance: a department's overview and a staff member's scorecard, the same figures as
the pages and their exports (rates as fractions, GMV in fen, null where nothing counts)."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import error_response, handle_http_exception
from app.core.permissions import Permission
from app.team import goals, report, scoreboard
from app.team.report import NotInScope, TeamRequestError

blp = Blueprint("api_team", __name__, url_prefix="/api/v1", description="团队绩效")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]
FIGURES = ("团队指标：adds, losses, lost_by_customer, lost_by_staff, net_new, push_assigned, push_on_time, push_late, "
           "push_never, push_rate (0..1), reply_rate (0..1), reply_minutes, welcome_rate (0..1), group_activity (0..1), "
           "sla_due, sla_on_time, sla_rate (0..1，跟进SLA达成率), orders, gmv_fen …；"
           "无可计量数据时为 null（例如没有回复的日子没有回复率）")


class PeriodQuerySchema(ma.Schema):
    start = ma.fields.String(load_default=None, validate=ma.validate.Length(max=10),
                             metadata={"description": "开始日期 YYYY-MM-DD（企业时区，含当天）；默认最近 30 天"})
    end = ma.fields.String(load_default=None, validate=ma.validate.Length(max=10),
                           metadata={"description": "结束日期 YYYY-MM-DD（含当天，最多 180 天）；默认昨天"})


class OverviewQuerySchema(PeriodQuerySchema):
    dept = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "部门 id（含下级部门）；不填为令牌可查看的全部成员"})


def _figures(**kwargs):
    return ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True),
                          metadata={"description": FIGURES}, **kwargs)


def _as_of():
    return ma.fields.DateTime(allow_none=True, metadata={
        "description": "时间范围含今天时，今天数据的汇总时间（每分钟汇总一次，与页面和导出相同）；不含今天时为 null"})


class DaySchema(ma.Schema):
    day = ma.fields.Date()
    figures = _figures()


class StaffFiguresSchema(ma.Schema):
    userid = ma.fields.String()
    name = ma.fields.String()
    label = ma.fields.String(metadata={"description": "页面显示的名称：同名成员附部门与 userid"})
    figures = _figures()


class OverviewSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    department_id = ma.fields.Integer(allow_none=True)
    as_of = _as_of()
    totals = _figures()
    days = ma.fields.List(ma.fields.Nested(DaySchema))
    staff = ma.fields.List(ma.fields.Nested(StaffFiguresSchema))


class LostSchema(ma.Schema):
    external_userid = ma.fields.String()
    name = ma.fields.String()
    ended_at = ma.fields.DateTime()
    ended_by = ma.fields.String(metadata={"description": "customer：客户删除了员工；staff：员工删除了客户"})


class ScorecardSchema(ma.Schema):
    userid = ma.fields.String()
    name = ma.fields.String()
    label = ma.fields.String(metadata={"description": "页面显示的名称：同名成员附部门与 userid"})
    start = ma.fields.Date()
    end = ma.fields.Date()
    as_of = _as_of()
    totals = _figures()
    days = ma.fields.List(ma.fields.Nested(DaySchema))
    lost = ma.fields.List(ma.fields.Nested(LostSchema))


def _days(period, series: dict) -> list[dict]:
    return [{"day": day, "figures": {key: values[i] for key, values in series.items()}}
            for i, day in enumerate(period.days)]


def _answer(build, *args, query):
    try:
        return build(g.api_token, *args, report.parse_period(query["start"], query["end"])), None
    except TeamRequestError as exc:
        return None, error_response(400, str(exc))
    except NotInScope as exc:
        return None, error_response(404, str(exc))


@blp.route("/team/overview")
@blp.doc(security=SECURITY)
@token_required(Permission.TEAM_VIEW)
@blp.arguments(OverviewQuerySchema, location="query")
@blp.response(200, OverviewSchema)
def team_overview(query):
    """团队总览：部门（含下级）成员的合计、每日合计与每人指标（主管令牌只能看到其负责的部门）"""
    data, refused = _answer(report.overview, query["dept"], query=query)
    if refused:
        return refused
    return {"start": data.period.first, "end": data.period.last, "department_id": query["dept"], "as_of": data.as_of,
            "totals": data.totals, "days": _days(data.period, data.series),
            "staff": [{"userid": s.userid, "name": s.name, "label": data.labels.get(s.userid, s.name), "figures": f}
                      for s, f in data.rows]}


@blp.route("/team/staff/<userid>")
@blp.doc(security=SECURITY)
@token_required(Permission.TEAM_VIEW)
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, ScorecardSchema)
def team_scorecard(query, userid: str):
    """成员记分卡：一位成员的合计、每日指标与流失的客户"""
    card, refused = _answer(report.scorecard, userid, query=query)
    if refused:
        return refused
    return {"userid": card.staff.userid, "name": card.staff.name, "label": card.label, "start": card.period.first,
            "end": card.period.last, "as_of": card.as_of, "totals": card.totals,
            "days": _days(card.period, card.series),
            "lost": [{"external_userid": rel.external_userid, "name": (customer.name if customer else "") or rel.remark,
                      "ended_at": rel.ended_at, "ended_by": rel.ended_by or "staff"} for rel, customer in card.lost]}


class GoalsQuerySchema(ma.Schema):
    month = ma.fields.String(load_default=None, validate=ma.validate.Length(max=7),
                             metadata={"description": "月份 YYYY-MM（企业时区）；默认本月"})


class GoalLineSchema(ma.Schema):
    id = ma.fields.Integer()
    scope_kind = ma.fields.String(metadata={"description": "department / role / staff（职务目标按每位成员各列一行）"})
    scope_value = ma.fields.String()
    name = ma.fields.String()
    figure = ma.fields.String()
    target = ma.fields.Float(metadata={"description": "整月目标：数量、分（GMV）、比率 0..1 或分钟"})
    expected = ma.fields.Float(metadata={"description": "按已过完整天数折算的应达值（比率即目标本身）"})
    actual = ma.fields.Float(allow_none=True)
    attainment = ma.fields.Float(allow_none=True, metadata={"description": "达成率，1 = 达标"})
    colour = ma.fields.String(metadata={"description": "green ≥ 1，amber ≥ 0.8，red < 0.8，空 = 尚无数据"})


class GoalsSchema(ma.Schema):
    month = ma.fields.String()
    targets = ma.fields.List(ma.fields.Nested(GoalLineSchema))


class AlertSchema(ma.Schema):
    id = ma.fields.Integer()
    rule = ma.fields.String(metadata={"description": "under_target / attainment_low / adds_drop"})
    level = ma.fields.String()
    scope_kind = ma.fields.String()
    scope_value = ma.fields.String()
    figure = ma.fields.String()
    period = ma.fields.String()
    details = ma.fields.Dict(metadata={"description": "数字与解释（渠道、成员）"})
    opened_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)
    notified_at = ma.fields.DateTime(allow_none=True)


@blp.route("/team/goals")
@blp.doc(security=SECURITY)
@token_required(Permission.TEAM_VIEW)
@blp.arguments(GoalsQuerySchema, location="query")
@blp.response(200, GoalsSchema)
def team_goals(query):
    """目标与达成：本月（或指定月份）令牌可查看的目标，与「目标与预警」页和导出相同"""
    month = query["month"] or report.today().strftime("%Y-%m")
    try:
        goals.check_month(month)
    except goals.TargetError as exc:
        return error_response(400, str(exc))
    tree = report.department_tree(g.api_token)
    board = scoreboard.board(g.api_token, tree, month)
    return {"month": month, "targets": [
        {"id": line.target.id, "scope_kind": line.target.scope_kind, "scope_value": line.target.scope_value,
         "name": line.name, "figure": line.target.figure, "target": line.attainment.target,
         "expected": line.attainment.expected, "actual": line.attainment.actual, "attainment": line.attainment.ratio,
         "colour": line.attainment.colour} for line in board.lines]}


@blp.route("/team/alerts")
@blp.doc(security=SECURITY)
@token_required(Permission.TEAM_VIEW)
@blp.response(200, AlertSchema(many=True))
def team_alerts():
    """预警：令牌可查看的部门与成员的预警（未解除的在前）"""
    return scoreboard.visible_alerts(report.department_tree(g.api_token), open_only=False)
