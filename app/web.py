"""Web plumbing shared by every page: sign-in loading, access check, locale, template helpers, error pages."""
from __future__ import annotations

from flask import Flask, current_app, g, jsonify, make_response, render_template, request, session
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context
from markupsafe import escape

from app.core import input_guard, settings
from app.core.guard import enforce_access
from app.core.permissions import N_, ROLE_LABELS, Role
from app.extensions import db, login_manager
from app.navigation import visible_items

ERROR_TITLES = {
    400: N_("请求有误"),
    403: N_("没有权限"),
    404: N_("页面不存在"),
    405: N_("不支持的请求方式"),
    413: N_("文件太大，请拆分后再上传"),
    500: N_("服务器出错了"),
}


# Scripts only from our own files (console.js and charts.js carry what inline handlers did); styles may be inline
# (style= attributes, ECharts' tooltips); images from anywhere: avatars, channel QR codes and pushed pictures live
# on WeCom's and the operators' hosts. Never framed, forms post only here.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src * data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def select_locale() -> str:
    return session.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]


@login_manager.user_loader
def _load_user(user_id: str):
    from app.core.accounts import User

    return db.session.get(User, int(user_id))


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp shown in the corp's timezone."""
    if value is None:
        return ""
    zone = g.get("corp_tz")
    if zone is None:
        zone = g.corp_tz = settings.corp_timezone()
    return value.astimezone(zone).strftime(fmt)


def _render_message(context, text: str, variables: dict) -> str:
    """A translated message for a template: plain text, never markup, whatever the msgid came from.

    Jinja's own i18n marks the translation safe and always %-formats it, so a msgid taken from the request or the
    database (`_(labels.get(arg, arg))`) reached the page unescaped and a `%` in it was a 500. Here the text is
    escaped like any other value, its params too, and it is formatted only when params are given (a msgid without
    params writes a plain `%`).
    """
    if context.eval_ctx.autoescape:
        text = escape(text)
    return text % variables if variables else text


@pass_context
def _template_gettext(context, message: str, **variables) -> str:
    return _render_message(context, get_translations().ugettext(message), variables)


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _render_message(context, get_translations().ungettext(singular, plural, num), variables)


def _security_headers(response):
    """after_request: every response gets the headers above; all but our static files are never stored by a cache
    (pages and API answers carry customer data)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/wecom/callback"


def _error(status: int, message: str | None = None):
    title = _(ERROR_TITLES.get(status, N_("出错了")))
    if _wants_json():
        code = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large"}
        return jsonify(error={"code": code.get(status, "error"), "message": message or title}), status
    return render_template("error.html", status=status, title=title, message=message), status


def error_page(status: int, message: str):
    """The error page (or JSON error under /api/) with a specific message, for `abort(error_page(...))`."""
    body, code = _error(status, message)
    return make_response(body, code)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    app.before_request(enforce_access)
    app.after_request(_security_headers)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)

    @app.context_processor
    def _helpers():
        return {"role_label": role_label, "current_locale": select_locale(),
                "nav_items": lambda section: visible_items(current_user, section)}

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error(400, _("表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试"))

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda exc, status=status: _error(status))

    @app.errorhandler(500)
    def _server_error(exc):
        db.session.rollback()
        return _error(500, _("操作没有完成，数据未被修改。请稍后重试；如果持续出现，请联系管理员。"))

    input_guard.init_app(app, _error)
