"""JSON errors of the API: every error is {"error": {"code", "message", "details"?}}."""
from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 422: "validation_error", 429: "rate_limited"}
MESSAGES = {400: "请求格式有误", 401: "缺少或无效的 API 令牌", 403: "该令牌的角色没有此权限",
            404: "资源不存在", 405: "不支持的请求方式", 409: "与现有数据冲突",
            422: "请求参数未通过校验", 429: "请求过于频繁", 500: "服务器内部错误，数据未被修改"}


class _ErrorBody(ma.Schema):
    code = ma.fields.String(metadata={"description": "机器可读的错误码，例如 forbidden、validation_error"})
    message = ma.fields.String(metadata={"description": "给人看的错误说明"})
    details = ma.fields.Dict(metadata={"description": "逐字段的校验错误"})


class ApiErrorSchema(ma.Schema):
    error = ma.fields.Nested(_ErrorBody)


def error_response(status: int, message: str | None = None, details=None):
    body = {"code": CODES.get(status, "error"), "message": message or MESSAGES.get(status, "出错了")}
    if details:
        body["details"] = details
    return jsonify(error=body), status


def handle_http_exception(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    details = data.get("errors") or data.get("messages")
    response = error_response(exc.code or 500, data.get("message"), details)
    for name, value in (data.get("headers") or {}).items():
        response[0].headers[name] = value
    return response
