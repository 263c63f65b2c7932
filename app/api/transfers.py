"""API v1 routes for 客户继承: the transfer batches (离职继承 and 在职继承) and each one's results, limited to the
token's scope as the pages are (a supervisor's token: batches of their departments' members)."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import error_response, handle_http_exception
from app.contacts.scope import scope_for
from app.core.bounds import MAX_DB_ID
from app.core.permissions import Permission
from app.extensions import db
from app.transfer import pages
from app.transfer.models import TransferBatch

blp = Blueprint("api_transfers", __name__, url_prefix="/api/v1", description="客户继承")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]
STATUSES = list(pages.STATUS_LABELS)


class BatchesQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=200),
                              metadata={"description": "最多返回多少个批次（最新的在前），1–200"})


class BatchSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "resigned：离职继承；onjob：在职继承"})
    handover_userid = ma.fields.String(metadata={"description": "原跟进成员"})
    takeover_userid = ma.fields.String(metadata={"description": "接替成员"})
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "各状态的客户与客户群数：refused（不符合规则，未提交）、pending（待提交）、waiting（等待接替）、"
                       "succeeded（已接替）、failed（失败）"})


class ItemsQuerySchema(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES),
                              metadata={"description": "只看某个状态：" + " / ".join(STATUSES)})
    limit = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=5000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=MAX_DB_ID))


class ItemSchema(ma.Schema):
    target = ma.fields.String(metadata={"description": "customer：客户；group：客户群"})
    object_id = ma.fields.String(metadata={"description": "external_userid 或 chat_id"})
    name = ma.fields.String()
    status = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "未提交或失败的原因（与页面和导出相同）"})
    errcode = ma.fields.Integer(allow_none=True, metadata={"description": "企业微信的错误码或接替状态"})
    accepted_at = ma.fields.DateTime(allow_none=True, metadata={"description": "企业微信受理（开始 24 小时的接替）"})
    finished_at = ma.fields.DateTime(allow_none=True)
    owner_moved = ma.fields.Boolean(metadata={"description": "本地的跟进成员已改为接替成员（只在成功时）"})


class BatchResultsSchema(BatchSchema):
    items = ma.fields.List(ma.fields.Nested(ItemSchema))
    more = ma.fields.Boolean(metadata={"description": "offset + limit 之后还有结果"})


def _batch(batch: TransferBatch, counts: dict[str, int]) -> dict:
    return {"id": batch.id, "kind": batch.kind, "handover_userid": batch.handover_userid,
            "takeover_userid": batch.takeover_userid, "created_by": batch.created_by, "created_at": batch.created_at,
            "counts": counts}


@blp.route("/transfers")
@blp.doc(security=SECURITY)
@token_required(Permission.TRANSFER_MANAGE)
@blp.arguments(BatchesQuerySchema, location="query")
@blp.response(200, BatchSchema(many=True))
def list_batches(query):
    """继承批次：令牌可查看的成员的离职继承与在职继承批次，最新的在前，附各状态的数量"""
    return [_batch(batch, counts) for batch, counts in pages.batches(scope_for(g.api_token), query["limit"])]


@blp.route("/transfers/<int:batch_id>")
@blp.doc(security=SECURITY)
@token_required(Permission.TRANSFER_MANAGE)
@blp.arguments(ItemsQuerySchema, location="query")
@blp.response(200, BatchResultsSchema)
def batch_results(query, batch_id: int):
    """一个继承批次的结果：每位客户或每个客户群的状态与原因（与页面和 Excel 导出相同）"""
    batch = db.session.get(TransferBatch, batch_id) if batch_id <= MAX_DB_ID else None
    if not pages.in_scope(scope_for(g.api_token), batch):
        return error_response(404, "没有这个继承批次，或不在令牌可查看的范围之内")
    view = pages.batch_view(batch, query["status"] or "", query["limit"], query["offset"])
    return {**_batch(batch, view.counts), "more": view.more, "items": [
        {"target": r.item.target, "object_id": r.item.object_id, "name": r.name, "status": r.item.status,
         "reason": pages.reason_text(r.item), "errcode": r.item.errcode, "accepted_at": r.item.accepted_at,
         "finished_at": r.item.finished_at, "owner_moved": r.item.owner_moved} for r in view.rows]}
