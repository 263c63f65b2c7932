"""Supervisors' pages for invitations (标签建群) waiting for approval: the invitation as it will go, approve or reject."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.policy import policies
from app.community import invitation_review, report
from app.community.models import Invitation, JoinCode
from app.community.views import bp, tier_choices
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db


@bp.get("/invitations/<int:invitation_id>/review", endpoint="invitation_review")
@requires(P.CAMPAIGNS_APPROVE)
def review(invitation_id: int):
    invitation = db.session.get(Invitation, invitation_id) or abort(404)
    return render_template("community/invitation.html", invitation=invitation, review=True,
                           code=db.session.get(JoinCode, invitation.join_code_id), sends={},
                           funnel=report.funnel(invitation), tiers=dict(tier_choices()),
                           threshold=policies.current().approval_threshold)


@bp.post("/invitations/<int:invitation_id>/decide", endpoint="invitation_decide")
@requires(P.CAMPAIGNS_APPROVE)
def decide(invitation_id: int):
    comment = request.form.get("comment", "")
    try:
        if request.form.get("decision") == "approve":
            invitation_review.approve(invitation_id, current_user.username, comment)
            flash(_("已批准：入群邀请正在后台规划发送"), "success")
        else:
            invitation_review.reject(invitation_id, current_user.username, comment)
            flash(_("已驳回，这个入群邀请不会发送"), "success")
    except invitation_review.ReviewError as exc:
        flash(exc.localized(), "danger")
    return redirect(url_for("community.invitation_review", invitation_id=invitation_id))


from app.community import approval_queue  # noqa: E402,F401  (lists waiting invitations in the approvals queue)
