"""Home page (blueprint `home`): what needs setting up, then the numbers each capability puts first."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template
from flask_login import current_user

from app.core import settings
from app.core.guard import signed_in
from app.home.cards import cards_for

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
@signed_in
def index():
    wecom_ready = all(settings.get(k) for k in ("wecom.corp_id", "wecom.secret"))
    callback_ready = all(settings.get(k) for k in ("wecom.token", "wecom.aes_key"))
    today = datetime.now(settings.corp_timezone()).date()
    return render_template("home/index.html", wecom_ready=wecom_ready, callback_ready=callback_ready,
                           today=today, cards=cards_for(current_user))
