"""API v1 routes for pushes (群发): create, read status, submit, approve or reject, run now, cancel."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_babel import gettext
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import error_response, handle_http_exception
from app.campaigns.approval import approvals
from app.campaigns.editor import checks, editing, preview
from app.campaigns.execution import runs
from app.campaigns.editor.editing import CampaignInvalid
from app.campaigns.models import Campaign, CampaignCheck, CampaignRun
from app.core.bounds import MAX_DB_ID
from app.core.errors import UserError
from app.core.permissions import Permission
from app.extensions import db

blp = Blueprint("api_campaigns", __name__, url_prefix="/api/v1", description="群发")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]
DB_ID = ma.validate.Range(min=0, max=MAX_DB_ID)
PERCENT = ma.validate.Range(min=0, max=100)
WECOM_ID = ma.validate.Length(max=64)  # userid, chat_id
MANY = ma.validate.Length(max=10_000)  # senders, owners, groups chosen in one push


class ContentSchema(ma.Schema):
    text = ma.fields.String(load_default="", metadata={
        "description": "文字，最多 4000 字节；变量 {员工姓名} 填发送成员姓名；不能用 {客户昵称}（群发无法逐人填写，会被拒绝，见 422 的 details.content）；"
                       "花括号本身写作 {{ 和 }}"})
    attachments = ma.fields.List(ma.fields.Dict(), load_default=list, metadata={
        "description": "企业微信 attachments 格式（image / link / miniprogram），最多 9 个，限制与欢迎语相同"})


class VariantSchema(ma.Schema):
    split_percent = ma.fields.Integer(required=True, validate=PERCENT)
    content = ma.fields.Nested(ContentSchema, required=True)


class ScheduleSchema(ma.Schema):
    kind = ma.fields.String(load_default="now", validate=ma.validate.OneOf(["now", "at", "daily", "weekly"]))
    run_at = ma.fields.String(load_default=None, metadata={"description": "kind=at：ISO 8601 时间，无时区按企业时区"})
    time_of_day = ma.fields.String(load_default=None, metadata={"description": "daily / weekly：HH:MM（企业时区）"})
    weekdays = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=0, max=6)), load_default=list,
                              validate=ma.validate.Length(max=7), metadata={"description": "weekly：0=周一 … 6=周日"})
    ends_on = ma.fields.String(load_default=None, metadata={"description": "重复到哪天（含），YYYY-MM-DD"})


class GroupFilterSchema(ma.Schema):
    owners = ma.fields.List(ma.fields.String(validate=WECOM_ID), load_default=list, validate=MANY)
    name_contains = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    chat_ids = ma.fields.List(ma.fields.String(validate=WECOM_ID), load_default=list, validate=MANY)


class CampaignInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    category = ma.fields.String(load_default="promotion", validate=ma.validate.OneOf(["promotion", "content", "service"]))
    chat_type = ma.fields.String(load_default="single", validate=ma.validate.OneOf(["single", "group"]))
    segment_id = ma.fields.Integer(load_default=None, validate=DB_ID, metadata={"description": "已保存的人群；与 audience_rule 二选一"})
    audience_rule = ma.fields.Dict(load_default=None, metadata={"description": "临时人群规则，格式见 app/segments/rules.py"})
    group_filter = ma.fields.Nested(GroupFilterSchema, load_default=dict)
    content = ma.fields.Nested(ContentSchema, required=True)
    variants = ma.fields.List(ma.fields.Nested(VariantSchema), load_default=list,
                              metadata={"description": "A/B 版本（2-5 个，比例之和 100）；为空则只有 content"})
    holdout_percent = ma.fields.Integer(load_default=0, validate=PERCENT)
    attribution_days = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=0, max=3650))
    schedule = ma.fields.Nested(ScheduleSchema, load_default=dict)
    sender_userids = ma.fields.List(ma.fields.String(validate=WECOM_ID), load_default=list, validate=MANY)
    sender_department_ids = ma.fields.List(ma.fields.Integer(validate=DB_ID), load_default=list, validate=MANY)


class RunSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    scheduled_for = ma.fields.DateTime()
    status = ma.fields.String(metadata={"description": "planning / planned / waiting_window / dispatching / polling / "
                                                       "finished / cancelled / failed / missed"})
    not_before = ma.fields.DateTime(allow_none=True, metadata={"description": "免打扰时段：此前不发送"})
    counts = ma.fields.Dict(metadata={"description": "total / planned / holdout / skipped / skip_reasons / variants"})
    error = ma.fields.String(allow_none=True)


class SubmissionSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "running（正在计算发送人数）/ done / failed"})
    outcome = ma.fields.String(allow_none=True, metadata={
        "description": "done 时：pending_approval（等待审批）/ approved / scheduled / running（已自动通过）/ refused"})
    recipients = ma.fields.Integer(allow_none=True, metadata={"description": "试算的发送人数"})
    error = ma.fields.String(allow_none=True, metadata={"description": "没有生效的原因"})
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class RejectionSchema(ma.Schema):
    version = ma.fields.Integer()
    actor = ma.fields.String(metadata={"description": "驳回的主管"})
    at = ma.fields.DateTime()
    comment = ma.fields.String(metadata={"description": "驳回原因"})


class CampaignOutSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String(metadata={"description": "draft / pending_approval / approved / scheduled / running / "
                                                       "finished / cancelled"})
    version = ma.fields.Integer()
    approved_version = ma.fields.Integer(allow_none=True)
    approved_by = ma.fields.String(allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)
    spec = ma.fields.Dict()
    runs = ma.fields.List(ma.fields.Nested(RunSchema))
    rejection = ma.fields.Nested(RejectionSchema, allow_none=True, metadata={
        "description": "草稿的当前版本被主管驳回（且未再提交）时：谁、何时、原因；否则为 null"})
    submission = ma.fields.Nested(SubmissionSchema, allow_none=True, metadata={
        "description": "当前版本最近一次提交：提交后先按试算计算发送人数（status=running），算完自动处理"})


class ApproveSchema(ma.Schema):
    decision = ma.fields.String(load_default="approve", validate=ma.validate.OneOf(["approve", "reject"]))
    version = ma.fields.Integer(required=True, validate=DB_ID, metadata={"description": "审阅的版本号：群发之后又被修改则拒绝审批"})
    comment = ma.fields.String(load_default="")


def _actor() -> str:
    return f"api:{g.api_token.name}"


def _out(campaign: Campaign) -> dict:
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    run_list = db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id)
                                  .order_by(CampaignRun.id.desc()).limit(20)).all()
    return {"id": campaign.id, "name": campaign.name, "status": campaign.status, "version": campaign.version,
            "approved_version": campaign.approved_version, "approved_by": campaign.approved_by,
            "approved_at": campaign.approved_at, "spec": editing.spec_of(campaign), "runs": run_list,
            "rejection": approvals.rejections([campaign.id]).get(campaign.id),
            "submission": _submission(checks.latest(campaign, checks.SUBMIT))}


def _submission(check: CampaignCheck | None) -> dict | None:
    if check is None:
        return None
    recipients = preview.Preview.from_json(check.result).recipients if check.result else None
    return {"status": checks.RUNNING if checks.is_running(check) else check.status, "outcome": check.outcome,
            "recipients": recipients, "error": gettext(check.error) if check.error else None,
            "started_at": check.started_at, "finished_at": check.finished_at}


def _refused(exc: Exception):
    if isinstance(exc, CampaignInvalid):
        messages = exc.messages(gettext)
        return error_response(422, "群发内容未通过校验", {field: [m for f, m in messages if f == field]
                                                          for field, _m in messages})
    return error_response(409, str(exc))


def _not_yours():
    return error_response(403, f"令牌 {g.api_token.name} 的角色 {g.api_token.role} 只能向客户群群发，不能一对一发给客户"
                               f"（需要权限 {Permission.CUSTOMERS_SEND.value}）")


def _with_campaign(campaign_id: int, action, changes: bool = True):
    """Run `action` on the campaign; a change (not a read or an approval) needs the right to send its kind."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return error_response(404, f"群发 {campaign_id} 不存在")
    if changes and not editing.may_send(g.api_token, campaign.chat_type):
        return _not_yours()
    try:
        action(campaign)
    except (UserError, CampaignInvalid) as exc:
        return _refused(exc)
    return _out(campaign)


@blp.route("/campaigns", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_EDIT)
@blp.arguments(CampaignInSchema)
@blp.response(201, CampaignOutSchema)
def create(spec):
    """新建群发（草稿）；内容、人群、时间逐项校验，含敏感词则拒绝；一对一群发（chat_type=single）需要权限
    customers.send（社群运营的令牌只能建客户群群发）"""
    if not editing.may_send(g.api_token, spec.get("chat_type") or "single"):
        return _not_yours()
    try:
        campaign = editing.save(None, spec, _actor())
    except CampaignInvalid as exc:
        return _refused(exc)
    return _out(campaign)


@blp.route("/campaigns/<int:campaign_id>")
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_VIEW)
@blp.response(200, CampaignOutSchema)
def read(campaign_id: int):
    """群发的状态、当前版本与审批情况、最近 20 次执行及其计数"""
    return _with_campaign(campaign_id, lambda c: None, changes=False)


@blp.route("/campaigns/<int:campaign_id>/submit", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_EDIT)
@blp.response(202, CampaignOutSchema)
def submit(campaign_id: int):
    """提交草稿：先校验，再在后台试算发送人数（submission.status=running，轮询本群发直到结束）；超过审批阈值
    等待主管审批，否则自动通过（“立即”发送的随即开始执行）"""
    return _with_campaign(campaign_id, lambda c: approvals.submit(c, _actor()))


@blp.route("/campaigns/<int:campaign_id>/approve", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_APPROVE)
@blp.arguments(ApproveSchema)
@blp.response(200, CampaignOutSchema)
def approve(body, campaign_id: int):
    """审批通过或驳回待审批的群发（须给出审阅的版本号）；“立即”发送的随即创建执行，在后台规划（runs[].status=planning）"""
    may = g.api_token.can(Permission.CAMPAIGNS_APPROVE)
    if body["decision"] == "reject":
        return _with_campaign(campaign_id, lambda c: approvals.reject(c, _actor(), may, body["comment"]), changes=False)
    return _with_campaign(campaign_id, lambda c: approvals.approve(c, _actor(), may, body["version"], body["comment"]),
                          changes=False)


@blp.route("/campaigns/<int:campaign_id>/run", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_EDIT)
@blp.response(200, CampaignOutSchema)
def run_now(campaign_id: int):
    """已审批的群发立即执行一次（有未结束的执行时拒绝）；执行先为 planning，在后台规划后变为 planned"""
    return _with_campaign(campaign_id, lambda c: runs.run_now(c, _actor()))


@blp.route("/campaigns/<int:campaign_id>/cancel", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_EDIT)
@blp.response(200, CampaignOutSchema)
def cancel(campaign_id: int):
    """取消群发：不再执行，未发出的企业微信任务一并取消（已发出的不会撤回）"""
    return _with_campaign(campaign_id, lambda c: runs.cancel(c, _actor()))


from app.api import campaign_results  # noqa: E402,F401  (results routes: funnel, deliveries; owned by campaigns-exec)
