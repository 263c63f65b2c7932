"""应用消息 (blueprint `staffmsg`): how many staff app messages wait, went out or could not be sent, and why."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.core import settings
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.staffmsg import dispatch
from app.staffmsg.service import undelivered

bp = Blueprint("staffmsg", __name__, url_prefix="/staffmsg", template_folder="templates")


@bp.get("/", endpoint="index")
@requires(P.SETTINGS_MANAGE)
def index():
    return render_template("staffmsg/index.html", counts=dispatch.pending_counts(), failed=undelivered(),
                           agent_id=settings.get("wecom.agent_id"), console_url=settings.get("console.url"),
                           per_minute=dispatch.PER_MINUTE, per_hour=dispatch.PER_HOUR)
