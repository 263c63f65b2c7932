"""任务宝 launch pages: a task's 推送 tab (the launch form and every launch with its delivery counts) and a launch's
review page, where a supervisor coming from the approvals queue approves or rejects it."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.campaigns.policy import policies as push_policies
from app.campaigns.reporting.results import SKIP_LABELS
from app.core import settings
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.referral import launch as launches
from app.referral.models import LAUNCH_STATUS_LABELS, LaunchStatus, ReferralLaunch, ReferralTask
from app.referral.views import bp
from app.segments import service as segments
from app.sending import summary
from app.sending.models import RunStatus, Send

DEFAULT_TEXT = "邀请好友一起来，邀请越多奖励越多！点开下方链接，领取你的专属邀请海报。"


def _task(task_id: int) -> ReferralTask:
    return db.session.get(ReferralTask, task_id) or abort(404)


def _rows(launch_list: list[ReferralLaunch]) -> list[tuple]:
    """(launch, its send's counts by status or None, the send's status label or None)."""
    sends = {s.id: s for s in db.session.scalars(select(Send).where(
        Send.id.in_([x.send_id for x in launch_list if x.send_id])))}
    return [(x, summary(x.send_id) if x.send_id else None,
             RunStatus.LABELS.get(sends[x.send_id].status) if x.send_id in sends else None) for x in launch_list]


@bp.route("/<int:task_id>/launch", methods=["GET", "POST"], endpoint="launch")
@requires(P.REFERRAL_MANAGE)
def launch_page(task_id: int):
    task = _task(task_id)
    errors: dict[str, str | tuple[str, dict]] = {}
    entered = launches.LaunchInput(text=DEFAULT_TEXT, link_title=task.name)
    if request.method == "POST":
        try:
            holdout = int(request.form.get("holdout_percent") or 0)
        except ValueError:
            holdout = -1
        entered = launches.LaunchInput(text=request.form.get("text") or "",
                                       link_title=request.form.get("link_title") or "", holdout_percent=holdout)
        try:
            launches.request(task, entered, current_user.username)
            flash(_("正在计算推送人数；超过审批阈值时等待主管审批，否则按频次上限和免打扰时段发送"), "success")
            return redirect(url_for("referral.launch", task_id=task.id))
        except launches.LaunchInvalid as exc:
            errors = exc.errors
    rows = _rows(db.session.scalars(select(ReferralLaunch).where(ReferralLaunch.task_id == task.id)
                                    .order_by(ReferralLaunch.id.desc())).all())
    return render_template("referral/launch.html", task=task, rows=rows, entered=entered, errors=errors,
                           labels=LAUNCH_STATUS_LABELS, skip_labels=SKIP_LABELS,
                           threshold=push_policies.current().approval_threshold,
                           console_url=settings.get("console.url"), pending=LaunchStatus.PENDING)


@bp.get("/launches/<int:launch_id>/review", endpoint="launch_review")
@requires(P.CAMPAIGNS_APPROVE)
def review(launch_id: int):
    """A launch as a supervisor decides it (from the approvals queue): the message, its audience, who asked."""
    found = db.session.get(ReferralLaunch, launch_id) or abort(404)
    task = _task(found.task_id)
    segment = segments.get_segment(task.segment_id) if task.segment_id else None
    return render_template("referral/launch_review.html", launch=found, task=task, segment=segment,
                           labels=LAUNCH_STATUS_LABELS, pending=LaunchStatus.PENDING,
                           threshold=push_policies.current().approval_threshold)


@bp.post("/launches/<int:launch_id>/decide", endpoint="launch_decide")
@requires(P.CAMPAIGNS_APPROVE)
def decide(launch_id: int):
    found = db.session.get(ReferralLaunch, launch_id) or abort(404)
    approve = request.form.get("decision") == "approve"
    try:
        launches.decide(found, approve, current_user.username, request.form.get("comment", ""))
        flash(_("已批准，正在安排发送") if approve else _("已驳回，不会发送"), "success")
    except launches.LaunchInvalid as exc:
        flash(_(next(iter(exc.errors.values()))), "danger")
    return redirect(url_for("referral.launch_review", launch_id=launch_id))


from app.referral import approval_queue  # noqa: E402,F401  (lists waiting launches in the approvals queue)
