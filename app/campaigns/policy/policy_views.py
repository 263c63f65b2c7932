"""Push policy pages on the `campaigns` blueprint: caps, quiet hours, sensitive words, approval; do-not-disturb list."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.policy import policies
from app.campaigns.models import CATEGORY_LABELS, CHAT_TYPE_LABELS
from app.campaigns.views import bp
from app.core import settings
from app.core.errors import UserError
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.sending import optouts

CAP_ROWS = 6  # rule rows on the page (the filled ones and blanks)


def _cap_rules_from_form(form) -> list[dict]:
    rules = []
    for number in range(CAP_ROWS):
        key = form.get(f"cap{number}_key", "").strip()
        if key:
            rules.append({"key": key, "max_sends": form.get(f"cap{number}_max", ""),
                          "days": form.get(f"cap{number}_days", ""),
                          "chat_type": form.get(f"cap{number}_chat_type", "single"),
                          "category": form.get(f"cap{number}_category") or None})
    return rules


@bp.route("/settings", methods=["GET", "POST"])
@requires(P.SETTINGS_MANAGE)
def policy_settings():
    current = policies.current()
    if request.method == "POST":
        form = {**request.form.to_dict(), "cap_rules": _cap_rules_from_form(request.form)}
        try:
            changed = policies.save(policies.parse(form), current_user.username)
        except UserError as exc:
            flash(exc.localized(), "danger")
        else:
            flash(_("已保存 %(n)s 项设置", n=len(changed)) if changed else _("没有变化"), "success")
            return redirect(url_for("campaigns.policy_settings"))
    return render_template("campaigns/settings.html", policy=current, rows=CAP_ROWS, categories=CATEGORY_LABELS,
                           chat_types=CHAT_TYPE_LABELS, receive_rule=settings.get("wecom.receive_rule"),
                           receive_rules=settings.RECEIVE_RULES)


@bp.route("/opt-outs", methods=["GET", "POST"])
@requires(P.CAMPAIGNS_EDIT)
def opt_outs():
    if request.method == "POST":
        try:
            optouts.add(request.form.get("external_userid", ""), request.form.get("reason", ""),
                        current_user.username)
        except UserError as exc:
            flash(exc.localized(), "danger")
        else:
            flash(_("已加入免打扰名单，之后的群发都会跳过该客户"), "success")
        return redirect(url_for("campaigns.opt_outs"))
    return render_template("campaigns/opt_outs.html", rows=optouts.listing())


@bp.route("/opt-outs/<int:opt_out_id>/delete", methods=["POST"])
@requires(P.CAMPAIGNS_EDIT)
def remove_opt_out(opt_out_id: int):
    try:
        optouts.remove(opt_out_id)
    except UserError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(_("已移出免打扰名单"), "success")
    return redirect(url_for("campaigns.opt_outs"))
