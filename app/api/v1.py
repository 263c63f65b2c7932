"""API v1 routes of the foundation: who am I, and the audit log for integrations that archive it."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.api.auth import token_required
from app.api.errors import handle_http_exception
from app.core.audit import AuditEntry
from app.core.bounds import MAX_DB_ID
from app.core.permissions import ROLE_PERMISSIONS, Permission, Role
from app.extensions import db

blp = Blueprint("api_v1", __name__, url_prefix="/api/v1", description="私域运营控制台 API v1")
blp.register_error_handler(HTTPException, handle_http_exception)
SECURITY = [{"bearerAuth": []}]


class MeSchema(ma.Schema):
    name = ma.fields.String()
    role = ma.fields.String()
    permissions = ma.fields.List(ma.fields.String())


class AuditQuerySchema(ma.Schema):
    action = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64), metadata={"description": "按操作前缀过滤，例如 auth."})
    after_id = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=MAX_DB_ID),
                                 metadata={"description": "只返回 id 大于此值的记录（增量拉取）"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor_name = ma.fields.String()
    action = ma.fields.String()
    target = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema))
    next_after_id = ma.fields.Integer(allow_none=True)


@blp.route("/me")
@blp.doc(security=SECURITY)
@token_required(None)
@blp.response(200, MeSchema)
def me():
    """当前令牌的名称、角色与权限"""
    token = g.api_token
    return {"name": token.name, "role": token.role,
            "permissions": sorted(p.value for p in ROLE_PERMISSIONS[Role(token.role)])}


@blp.route("/audit-log")
@blp.doc(security=SECURITY)
@token_required(Permission.AUDIT_VIEW)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def audit_log(query):
    """按 id 递增分页读取审计日志"""
    q = select(AuditEntry).where(AuditEntry.id > query["after_id"]).order_by(AuditEntry.id)
    if query["action"]:
        q = q.where(AuditEntry.action.startswith(query["action"]))
    rows = db.session.scalars(q.limit(query["limit"])).all()
    return {"items": rows, "next_after_id": rows[-1].id if len(rows) == query["limit"] else None}
