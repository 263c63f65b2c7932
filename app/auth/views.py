"""Sign-in, sign-out and language pages (blueprint `auth`)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from app.core import accounts
from app.core.audit import record
from app.core.db import transaction
from app.core.guard import public, signed_in

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")

ERRORS = {
    "bad_credentials": _l("用户名或密码错误"),
    "locked": _l("连续登录失败次数过多，账号已锁定 %(minutes)s 分钟，请稍后再试或联系管理员解锁"),
    "disabled": _l("账号已停用，请联系管理员"),
}


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请输入用户名")), Length(max=64),
                                                  Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("用户名不能含控制字符"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(message=_l("请输入密码")), Length(max=256)])


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        result = accounts.sign_in(form.username.data, form.password.data)
        if result.user is not None:
            session.clear()
            login_user(result.user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        minutes = current_app.config["LOGIN_LOCKOUT_SECONDS"] // 60
        flash(str(ERRORS[result.error]) % {"minutes": minutes}, "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    with transaction():
        record("auth.logout")
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
@public
def language(code: str):
    if code in current_app.config["SCRM_LOCALES"]:
        session["locale"] = code
    return redirect(_safe_next(request.form.get("next")))
