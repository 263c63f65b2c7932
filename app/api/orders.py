"""API v1 routes for the shop: orders (for RFM) and activity events, in idempotent batches."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import marshmallow as ma
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import error_response, handle_http_exception
from app.core import bounds
from app.core.permissions import Permission
from app.rfm import ingest

blp = Blueprint("api_orders", __name__, url_prefix="/api/v1", description="订单与行为事件")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]
BATCH = ma.validate.Length(min=1, max=ingest.MAX_BATCH, error=f"每批 1 到 {ingest.MAX_BATCH} 条")
TIME_TEXT = ma.validate.Length(max=64)


def _width(name: str) -> ma.validate.Length:
    """At most as long as the order column (longer values are refused with the field's name, not cut)."""
    return ma.validate.Length(max=ingest.ORDER_COLUMN_WIDTHS[name])


def _amount_in_range(value) -> None:
    """A number beyond any order is refused here, by name: the amount parser's exact arithmetic stops at 26 digits.
    Anything else that is not an amount is named by the ingest's own check."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return
    if amount.is_finite() and abs(amount) > bounds.MAX_AMOUNT:
        raise ma.ValidationError(f"金额超过上限 {bounds.MAX_AMOUNT} 元")


class OrderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    order_id = ma.fields.String(required=True, validate=_width("order_id"), metadata={"description": "商城订单号，幂等键"})
    external_userid = ma.fields.String(validate=_width("external_userid"),
                                       metadata={"description": "企业微信客户 ID；或提供 unionid / mobile"})
    unionid = ma.fields.String(validate=_width("unionid"))
    mobile = ma.fields.String(validate=_width("mobile"))
    amount = ma.fields.Raw(required=True, validate=_amount_in_range, metadata={"description": "金额（元，最多两位小数），如 \"99.90\""})
    paid_at = ma.fields.String(required=True, validate=TIME_TEXT, metadata={"description": "ISO 8601；无时区时按企业时区"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["paid", "refunded", "cancelled"]))
    category = ma.fields.String(validate=_width("category"))
    items = ma.fields.Raw(metadata={"description": "商品明细，原样保存"})


class OrderBatchSchema(ma.Schema):
    orders = ma.fields.List(ma.fields.Nested(OrderSchema), required=True, validate=BATCH)


class OrderResultSchema(ma.Schema):
    added = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class EventSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    event_id = ma.fields.String(validate=ma.validate.Length(max=ingest.EVENT_COLUMN_WIDTHS["event_id"]), metadata={"description": "可选；重发同一 event_id 不会重复记录"})
    type = ma.fields.String(required=True, validate=ma.validate.Length(max=ingest.EVENT_TYPE_MAX), metadata={"description": "如 visit、click、reply"})
    external_userid = ma.fields.String(required=True,
                                       validate=ma.validate.Length(max=ingest.EVENT_COLUMN_WIDTHS["external_userid"]))
    occurred_at = ma.fields.String(required=True, validate=TIME_TEXT, metadata={"description": "ISO 8601"})
    properties = ma.fields.Dict()


class EventBatchSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True, validate=BATCH)


class EventResultSchema(ma.Schema):
    stored = ma.fields.Integer()
    duplicates = ma.fields.Integer()


def _rejected(exc: ingest.IngestError):
    return error_response(422, "有记录未通过校验，本批没有写入任何数据",
                          {str(i): message for i, message in sorted(exc.errors.items())})


@blp.route("/orders", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.ORDERS_IMPORT)
@blp.arguments(OrderBatchSchema)
@blp.response(200, OrderResultSchema)
def post_orders(body):
    """写入一批订单（最多 1000 条），按 order_id 幂等；已存在的订单按新状态更新（例如退款）"""
    try:
        records = ingest.validate_orders(body["orders"])
    except ingest.IngestError as exc:
        return _rejected(exc)
    return ingest.store_orders(records, source="api").__dict__


@blp.route("/events", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required(Permission.ORDERS_IMPORT)
@blp.arguments(EventBatchSchema)
@blp.response(200, EventResultSchema)
def post_events(body):
    """写入一批行为事件（最多 1000 条），供判断客户是否活跃"""
    try:
        stored, duplicates = ingest.store_events(body["events"])
    except ingest.IngestError as exc:
        return _rejected(exc)
    return {"stored": stored, "duplicates": duplicates}
