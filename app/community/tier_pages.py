"""Tier pages: each tier's groups, codes and welcome templates; invitations (标签建群) and the report."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.campaigns.policy import policies
from app.community import code_stats, invitations, report, tiers
from app.community.models import Invitation, JoinCode
from app.community.views import bp, tier_choices
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.segments import service as segments
from app.sending import summary
from app.tags.models import CorpTag, CorpTagGroup


@bp.get("/tiers", endpoint="tiers")
@requires(P.COMMUNITY_MANAGE)
def tier_overview():
    rows = tiers.overview()
    figures = code_stats.figures([c for t in rows for c in t.codes])
    return render_template("community/tiers.html", rows=rows, figures=figures, tiers=dict(tier_choices()))


@bp.get("/invitations", endpoint="invitations")
@requires(P.COMMUNITY_MANAGE)
def invitation_list():
    rows = db.session.scalars(select(Invitation).order_by(Invitation.id.desc())).all()
    per_invitation, per_tier = report.by_tier(rows)
    codes = dict(db.session.execute(select(JoinCode.id, JoinCode.name)).all())
    return render_template("community/invitations.html", rows=rows, funnels=per_invitation, per_tier=per_tier,
                           codes=codes, tiers=dict(tier_choices()))


def _tag_choices() -> list[tuple[str, list]]:
    groups = db.session.execute(select(CorpTagGroup.group_id, CorpTagGroup.name).where(
        CorpTagGroup.deleted_at.is_(None)).order_by(CorpTagGroup.order, CorpTagGroup.name)).all()
    tags = db.session.execute(select(CorpTag.group_id, CorpTag.tag_id, CorpTag.name).where(
        CorpTag.deleted_at.is_(None)).order_by(CorpTag.order, CorpTag.name)).all()
    return [(name, [(t, n) for g, t, n in tags if g == gid]) for gid, name in groups]


def _input() -> invitations.InvitationInput:
    form = request.form
    return invitations.InvitationInput(
        name=form.get("name", ""), tier=form.get("tier", ""), join_code_id=form.get("join_code_id", type=int),
        segment_id=form.get("segment_id", type=int), tag_id=form.get("tag_id") or None, text=form.get("text", ""),
        reminder_text=form.get("reminder_text", ""), remind_after_days=form.get("remind_after_days", type=int))


@bp.route("/invitations/new", methods=["GET", "POST"], endpoint="invitation_new")
@requires(P.COMMUNITY_MANAGE)
def invitation_new():
    data = invitations.InvitationInput("", request.args.get("tier", "vip"), None, None, None,
                                       _("您好，邀请您加入我们的会员群，群里有专属福利和新品预告，扫下面的二维码就能进群。"),
                                       _("上次的群邀请您还没来得及加入：扫码进群，专属福利每周更新。"), 3)
    errors: dict = {}
    if request.method == "POST":
        data = _input()
        try:
            invitation = invitations.create(data, current_user.username)
        except invitations.InvitationInvalid as exc:
            errors = exc.errors
        else:
            flash(_("入群邀请「%(name)s」已创建：正在后台计算人数，超过审批阈值时等待主管审批，否则规划发送，员工在企业微信"
                    "确认后发出", name=invitation.name), "success")
            return redirect(url_for("community.invitation", invitation_id=invitation.id))
    codes = db.session.execute(select(JoinCode.id, JoinCode.name, JoinCode.tier).where(JoinCode.tier.is_not(None))
                               .order_by(JoinCode.name)).all()
    return render_template("community/invitation_new.html", data=data, errors=errors, tiers=tier_choices(),
                           codes=codes, segments=segments.list_segments(), tag_groups=_tag_choices(),
                           threshold=policies.current().approval_threshold)


@bp.get("/invitations/<int:invitation_id>", endpoint="invitation")
@requires(P.COMMUNITY_MANAGE)
def invitation_detail(invitation_id: int):
    invitation = db.session.get(Invitation, invitation_id) or abort(404)
    code = db.session.get(JoinCode, invitation.join_code_id)
    sends = {key: summary(send_id) for key, send_id in (("first", invitation.first_send_id),
                                                         ("reminder", invitation.reminder_send_id)) if send_id}
    return render_template("community/invitation.html", invitation=invitation, code=code, sends=sends,
                           funnel=report.funnel(invitation), tiers=dict(tier_choices()),
                           threshold=policies.current().approval_threshold)
