"""API v1 routes for saved segments (人群): the list, a fresh count, and the members page by page."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import error_response, handle_http_exception
from app.core.bounds import MAX_DB_ID
from app.core.permissions import Permission
from app.segments import service

blp = Blueprint("api_segments", __name__, url_prefix="/api/v1", description="人群（客户分群）")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]


class SegmentSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String()
    rule = ma.fields.Dict(metadata={"description": "规则树，格式见 app/segments/rules.py"})
    last_count = ma.fields.Integer(allow_none=True, metadata={"description": "上次计数的人数"})
    last_counted_at = ma.fields.DateTime(allow_none=True)
    updated_at = ma.fields.DateTime()


class SegmentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SegmentSchema))


class CountSchema(ma.Schema):
    id = ma.fields.Integer()
    count = ma.fields.Integer(metadata={"description": "按当前数据实时计算的人数"})


class MembersQuerySchema(ma.Schema):
    after_id = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=MAX_DB_ID),
                                 metadata={"description": "只返回 customer_id 大于此值的成员（上一页的 next_after_id）"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class MemberSchema(ma.Schema):
    customer_id = ma.fields.Integer(attribute="id")
    external_userid = ma.fields.String()
    name = ma.fields.String()
    corp_name = ma.fields.String()
    lost_at = ma.fields.DateTime(allow_none=True)


class MemberPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MemberSchema))
    next_after_id = ma.fields.Integer(allow_none=True, metadata={"description": "下一页的 after_id；无更多时为 null"})


def _segment_or_404(segment_id: int):
    segment = service.get_segment(segment_id)
    return segment, (None if segment else error_response(404, f"人群 {segment_id} 不存在"))


@blp.route("/segments")
@blp.doc(security=SECURITY)
@token_required(Permission.SEGMENTS_MANAGE)
@blp.response(200, SegmentListSchema)
def list_segments():
    """已保存的人群，最近修改的在前"""
    return {"items": service.list_segments()}


@blp.route("/segments/<int:segment_id>/count")
@blp.doc(security=SECURITY)
@token_required(Permission.SEGMENTS_MANAGE)
@blp.response(200, CountSchema)
def segment_count(segment_id: int):
    """按当前数据重新计算人群人数（并记为该人群的最新人数）"""
    segment, missing = _segment_or_404(segment_id)
    if missing:
        return missing
    return {"id": segment.id, "count": service.recount(segment)}


@blp.route("/segments/<int:segment_id>/members")
@blp.doc(security=SECURITY)
@token_required(Permission.SEGMENTS_MANAGE)
@blp.arguments(MembersQuerySchema, location="query")
@blp.response(200, MemberPageSchema)
def segment_members(query, segment_id: int):
    """按 customer_id 递增分页读取人群成员（顺序稳定，用 next_after_id 取下一页）"""
    segment, missing = _segment_or_404(segment_id)
    if missing:
        return missing
    rows = service.member_page(segment.rule, query["after_id"], query["limit"])
    return {"items": rows, "next_after_id": rows[-1].id if len(rows) == query["limit"] else None}
