"""Administration pages (blueprint `admin`): settings, accounts, API tokens and the audit log."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.admin import audit_browser
from app.admin.forms import EditUserForm, NewUserForm, PasswordForm, SettingsForm, TokenForm
from app.core import accounts, settings, tokens
from app.core.db import utcnow
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.wecom import connection, token_status
from app.wecom.errors import WeComError

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
bp.add_url_rule("/audit", view_func=requires(P.AUDIT_VIEW)(audit_browser.audit), endpoint="audit")
bp.add_url_rule("/audit.csv", view_func=requires(P.AUDIT_VIEW)(audit_browser.audit_export),
                endpoint="audit_export")


@bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
@requires(P.SETTINGS_MANAGE)
def settings_page():
    form = SettingsForm()
    stored = {field: settings.get(key) for field, key in form.FIELD_KEYS.items()}
    if form.validate_on_submit():
        changes = {}
        for field, key in form.FIELD_KEYS.items():
            value = form[field].data or ""
            if field in form.SECRET_FIELDS and not value:
                continue  # blank secret: keep what is stored
            changes[key] = value
        try:
            changed = settings.save(changes, current_user.username)
        except settings.SettingsError as exc:
            flash(exc.localized(), "danger")
        else:
            connection.forget()
            flash(_("已保存 %(n)s 项设置", n=len(changed)) if changed else _("没有需要保存的修改"), "success")
            return redirect(url_for("admin.settings"))
    elif not form.is_submitted():
        for field in form.FIELD_KEYS:
            if field not in form.SECRET_FIELDS:
                form[field].data = stored[field]
    masked = {f: settings.masked(stored[f]) for f in form.SECRET_FIELDS}
    problem = connection.credentials_problem()
    return render_template("admin/settings.html", form=form, masked=masked,
                           wecom_problem=token_status.explain(problem) if problem else None)



@bp.post("/settings/check", endpoint="settings_check")
@requires(P.SETTINGS_MANAGE)
def settings_check():
    """Try the saved credentials against WeCom (gettoken) and say plainly what happened."""
    try:
        connection.gateway().get_access_token(retry_now=True)
    except connection.NotConfigured as exc:
        flash(exc.localized(), "warning")
    except WeComError as exc:
        flash(_("连接失败：%(message)s（错误码 %(code)s）", message=exc.message, code=exc.errcode), "danger")
    else:
        flash(_("连接成功：已从企业微信获取 access_token"), "success")
    return redirect(url_for("admin.settings"))


@bp.route("/users", methods=["GET", "POST"])
@requires(P.USERS_MANAGE)
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.password.data, form.role.data,
                                        form.display_name.data, form.wecom_userid.data)
        except accounts.AccountError as exc:
            flash(exc.localized(), "danger")
        else:
            flash(_("已创建账号 %(name)s", name=user.username), "success")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(accounts.User).order_by(accounts.User.username)).all()
    return render_template("admin/users.html", form=form, users=rows, now=utcnow())


def _user_or_404(user_id: int) -> accounts.User:
    return db.session.get(accounts.User, user_id) or abort(404)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(P.USERS_MANAGE)
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            accounts.update_user(user, role=form.role.data, display_name=form.display_name.data,
                                 wecom_userid=form.wecom_userid.data, is_enabled=form.is_enabled.data,
                                 actor=current_user)
        except accounts.AccountError as exc:
            flash(exc.localized(), "danger")
        else:
            flash(_("已保存"), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", user=user, form=form, password_form=PasswordForm())


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires(P.USERS_MANAGE)
def user_password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data)
        flash(_("已重置 %(name)s 的密码并解除锁定", name=user.username), "success")
    else:
        flash(_("新密码至少需要 10 个字符"), "danger")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires(P.USERS_MANAGE)
def user_unlock(user_id: int):
    user = _user_or_404(user_id)
    accounts.unlock(user)
    flash(_("已解除 %(name)s 的锁定", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/tokens", methods=["GET", "POST"], endpoint="tokens")
@requires(P.TOKENS_MANAGE)
def tokens_page():
    form = TokenForm()
    issued_raw = None
    if form.validate_on_submit():
        try:
            _token, issued_raw = tokens.issue(form.name.data, form.role.data, current_user.username)
        except tokens.TokenError as exc:
            flash(exc.localized(), "danger")
        else:
            form = TokenForm(formdata=None)
    rows = db.session.scalars(select(tokens.ApiToken).order_by(tokens.ApiToken.created_at.desc())).all()
    return render_template("admin/tokens.html", form=form, tokens=rows, issued_raw=issued_raw)



@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(P.TOKENS_MANAGE)
def token_revoke(token_id: int):
    token = db.session.get(tokens.ApiToken, token_id) or abort(404)
    tokens.revoke(token)
    flash(_("已吊销令牌 %(name)s", name=token.name), "success")
    return redirect(url_for("admin.tokens"))
