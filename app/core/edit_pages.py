"""The save and delete steps of a console edit page: do it through the service and say so, or keep the form with
the fields the service refused, or say what WeCom refused."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import flash, redirect
from werkzeug.wrappers import Response
from flask_babel import gettext as _

from app.core.errors import FieldErrors
from app.wecom.connection import NotConfigured
from app.wecom.errors import WeComError

T = TypeVar("T")


def refused(exc: Exception) -> None:
    flash(_("企业微信没有接受：%(reason)s", reason=getattr(exc, "message", str(exc))), "danger")


def save(existing: T | None, create: Callable[[], T], update: Callable[[T], None], created: str,
         saved: str) -> tuple[T | None, dict]:
    """Create (nothing `existing`) or update, flashing `created` or `saved` (msgids marked N_, with %(name)s):
    (what was saved, {}); (None, field -> error) when the service refuses the form; (None, {}) when WeCom refuses
    (flashed)."""
    try:
        if existing is None:
            existing, message = create(), created
        else:
            update(existing)
            message = saved
    except FieldErrors as exc:
        return None, exc.errors
    except (WeComError, NotConfigured) as exc:
        refused(exc)
        return None, {}
    flash(_(message, name=existing.name), "success")
    return existing, {}


def delete(existing, remove: Callable[[], None], deleted: str, back: str, stay: str) -> Response:
    """Delete `existing` through the service and go `back` saying `deleted` (a msgid marked N_, with %(name)s);
    when the service (field errors) or WeCom refuses, say why and `stay`."""
    name = existing.name
    try:
        remove()
    except FieldErrors as exc:
        for error in exc.errors.values():
            message, params = error if isinstance(error, tuple) else (error, {})
            flash(_(message, **params), "danger")
        return redirect(stay)
    except (WeComError, NotConfigured) as exc:
        refused(exc)
        return redirect(stay)
    flash(_(deleted, name=name), "success")
    return redirect(back)
