"""Bearer-token authentication and per-route permission checks for the API."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from app.api.errors import error_response
from app.core import tokens
from app.core.permissions import Permission


ANY_TOKEN = "any_token"


def token_required(permission: Permission | None):
    """Refuse the call with 401 without a valid token and 403 when the token's role lacks the permission.

    `None` admits any valid token (for routes such as /me that only describe the caller).
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, raw = header.partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                return error_response(401, "缺少 Authorization: Bearer <令牌> 请求头")
            token = tokens.authenticate(raw.strip())
            if token is None:
                return error_response(401, "API 令牌无效或已被吊销")
            if permission is not None and not token.can(permission):
                return error_response(403, f"令牌 {token.name} 的角色 {token.role} 没有权限 {permission.value}")
            g.api_token = token
            return view(*args, **kwargs)

        wrapper.required_permission = permission or ANY_TOKEN
        return wrapper

    return decorate
