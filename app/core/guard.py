"""Access control for console pages: every endpoint declares a permission or is explicitly public."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.core.permissions import Permission

PUBLIC = "public"
SIGNED_IN = "signed_in"


def requires(permission: Permission | str) -> Callable:
    """Mark a view with the permission it needs; the app-wide check enforces it (403 when denied)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return decorate


def public(view):
    """Mark a view that anyone may open (sign-in page, WeCom's callback, health)."""
    return requires(PUBLIC)(view)


def signed_in(view):
    """Mark a view any signed-in account may open (home, own profile, sign-out)."""
    return requires(SIGNED_IN)(view)


def enforce_access():
    """before_request: undeclared views are refused, so a forgotten decorator fails closed."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions[request.endpoint]
    permission = getattr(view, "required_permission", None)
    if (request.blueprint or "").startswith("api"):
        return None  # the API authenticates bearer tokens itself (app/api/auth.py)
    if permission == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if permission is None:
        abort(403)
    if permission != SIGNED_IN and not current_user.can(permission):
        abort(403)
    return None
