"""Home page (blueprint `home`): setup checklist and the state of each capability."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from app.core import settings
from app.core.accounts import User
from app.core.guard import signed_in
from app.extensions import db
from app.navigation import NAV_ITEMS

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
@signed_in
def index():
    wecom_ready = all(settings.get(k) for k in ("wecom.corp_id", "wecom.secret"))
    callback_ready = all(settings.get(k) for k in ("wecom.token", "wecom.aes_key"))
    accounts = db.session.scalar(select(func.count()).select_from(User))
    return render_template("home/index.html", wecom_ready=wecom_ready, callback_ready=callback_ready,
                           accounts=accounts, items=[i for i in NAV_ITEMS if i.section == "work"])
