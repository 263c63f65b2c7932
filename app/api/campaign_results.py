"""API v1 routes for a campaign's results, on the campaigns blueprint: status and funnel, deliveries page by page."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from sqlalchemy import select

from app.api.auth import token_required
from app.api.campaigns import blp
from app.api.errors import error_response
from app.campaigns.reporting import results
from app.campaigns.models import Campaign
from app.contacts.scope import scope_for
from app.core.bounds import MAX_DB_ID
from app.core.permissions import Permission
from app.extensions import db
from app.sending.models import Delivery

SECURITY = [{"bearerAuth": []}]
STATUSES = ("planned", "skipped", "holdout", "submitted", "sent", "failed")


class ResultRunSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "scheduled / manual"})
    status = ma.fields.String(metadata={"description": "planning, planned, waiting_window, dispatching, polling, "
                                                       "finished, cancelled, failed, missed"})
    scheduled_for = ma.fields.DateTime()
    not_before = ma.fields.DateTime(allow_none=True, metadata={"description": "免打扰时段：最早发送时间"})
    finished_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)


class FunnelCountsSchema(ma.Schema):
    audience = ma.fields.Integer(metadata={"description": "受众（每位客户或每个群一行）"})
    skipped = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                             metadata={"description": "按原因跳过的人数：opt_out, lost, wecom_quota, cap:<规则> …"})
    holdout = ma.fields.Integer(metadata={"description": "对照组（不发送）"})
    to_send = ma.fields.Integer(metadata={"description": "尚未提交企业微信"})
    submitted = ma.fields.Integer(metadata={"description": "已在企业微信群发任务中"})
    confirmed = ma.fields.Integer(metadata={"description": "所在任务已被成员确认"})
    sent = ma.fields.Integer()
    failed = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                            metadata={"description": "按原因失败：not_friend, over_quota, error, not_sent, "
                                                     "not_confirmed, cancelled"})


class FunnelStatusSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    status = ma.fields.String()
    runs = ma.fields.List(ma.fields.Nested(ResultRunSchema), metadata={"description": "最近的在前（不含测试发送）"})
    funnel = ma.fields.Nested(FunnelCountsSchema, metadata={"description": "所选运行（默认全部）的合计"})


class StatusQuerySchema(ma.Schema):
    run_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_DB_ID), metadata={"description": "只看这一次运行"})


class DeliveriesQuerySchema(StatusQuerySchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    after_id = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=MAX_DB_ID),
                                 metadata={"description": "只返回 id 大于此值的行（上一页的 next_after_id）"})
    limit = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=5000))


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    run_id = ma.fields.Integer()
    target_key = ma.fields.String(metadata={"description": "external_userid，客户群推送时为 chat_id"})
    sender_userid = ma.fields.String(allow_none=True)
    variant_key = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    skip_reason = ma.fields.String(allow_none=True)
    fail_reason = ma.fields.String(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)


class DeliveryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))
    next_after_id = ma.fields.Integer(allow_none=True, metadata={"description": "下一页的 after_id；无更多时为 null"})


def _runs(campaign_id: int, run_id: int | None):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return None, None, error_response(404, f"活动 {campaign_id} 不存在")
    runs, chosen = results.runs_chosen(campaign_id, run_id)
    if run_id and not chosen:
        return None, None, error_response(404, f"活动 {campaign_id} 没有运行 {run_id}")
    return campaign, (runs, chosen), None


@blp.route("/campaigns/<int:campaign_id>/funnel")
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_VIEW)
@blp.arguments(StatusQuerySchema, location="query")
@blp.response(200, FunnelStatusSchema)
def campaign_funnel(query, campaign_id: int):
    """活动的运行状态和送达漏斗（跳过、对照组、提交、成员确认、送达、失败原因）"""
    campaign, found, missing = _runs(campaign_id, query["run_id"])
    if missing:
        return missing
    runs, chosen = found
    return {"campaign_id": campaign.id, "status": campaign.status, "runs": runs,
            "funnel": results.funnel([r.id for r in chosen], scope_for(g.api_token)).as_dict()}


@blp.route("/campaigns/<int:campaign_id>/deliveries")
@blp.doc(security=SECURITY)
@token_required(Permission.CAMPAIGNS_VIEW)
@blp.arguments(DeliveriesQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
def campaign_deliveries(query, campaign_id: int):
    """活动的发送明细，每位客户一行，按 id 翻页"""
    _campaign, found, missing = _runs(campaign_id, query["run_id"])
    if missing:
        return missing
    _runs_all, chosen = found
    q = (select(Delivery).where(Delivery.run_id.in_([r.id for r in chosen]), Delivery.id > query["after_id"],
                                results.visible(scope_for(g.api_token)))
         .order_by(Delivery.id).limit(query["limit"] + 1))
    if query["status"]:
        q = q.where(Delivery.status == query["status"])
    rows = list(db.session.scalars(q))
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    return {"items": rows, "next_after_id": rows[-1].id if more else None}
