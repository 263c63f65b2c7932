"""The 后台任务 page (admins: running, waiting and failed jobs, retry, cancel) and the progress API pages poll."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.audit_browser import details_text
from app.core.errors import UserError
from app.core.guard import requires, signed_in
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.jobs import kinds, listing, queue
from app.jobs.models import Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder="templates")
_FILTER_PROBLEMS = {"kind": N_("没有这种任务类型"), "state": N_("没有这种任务状态"), "origin": N_("没有这种发起方式")}


@bp.get("/", endpoint="index")
@requires(P.JOBS_MANAGE)
def index():
    f, problems = listing.filters_from_request()
    for name in problems:
        flash(_("%(problem)s：「%(value)s」，已忽略这个筛选条件", problem=_(_FILTER_PROBLEMS[name]),
                value=request.args[name]), "warning")
    return render_template("jobs/index.html", f=f, page=listing.listed(f), folds=listing.folds(f),
                           counts=listing.state_counts(f), states=listing.STATES, state_labels=dict(listing.STATES), origins=dict(listing.ORIGINS),
                           kind_names=listing.kinds_known(), usernames=listing.usernames(),
                           origin_of=listing.origin_of, kinds=kinds.KINDS, progress_of=queue.progress_of,
                           result_text=details_text)


def _job_for_watcher(job_id: int) -> Job:
    """The job, if the signed-in account may watch it: admins every job, others the kinds their role may run."""
    job = db.session.get(Job, job_id) or abort(404)
    permission = kinds.get(job.kind).permission
    if not (current_user.can(P.JOBS_MANAGE) or (permission and current_user.can(permission))):
        abort(403)
    return job


@bp.get("/<int:job_id>/progress", endpoint="progress")
@signed_in
def progress(job_id: int):
    """The one progress API: what static/progress.js polls while a job waits or runs."""
    payload = queue.progress_of(_job_for_watcher(job_id))
    return jsonify({**payload, "stage": _(payload["stage"]) if payload["stage"] else ""})


@bp.post("/<int:job_id>/cancel", endpoint="cancel")
@signed_in
def cancel(job_id: int):
    """Admins cancel any job; others the jobs they asked for."""
    job = db.session.get(Job, job_id) or abort(404)
    if not (current_user.can(P.JOBS_MANAGE) or current_user.username == job.requested_by):
        abort(403)
    try:
        queue.cancel(job.id, current_user.username)
    except UserError as exc:
        flash(exc.localized(), "warning")
    else:
        flash(_("已请求取消后台任务 #%(id)s", id=job_id), "success")
    return redirect(_back())


@bp.post("/<int:job_id>/retry", endpoint="retry")
@requires(P.JOBS_MANAGE)
def retry(job_id: int):
    try:
        queue.retry(job_id, current_user.username)
    except UserError as exc:
        flash(exc.localized(), "warning")
    else:
        flash(_("后台任务 #%(id)s 已重新排队", id=job_id), "success")
    return redirect(_back())


def start(kind: str, args: dict | None = None) -> Job | None:
    """A start button's request: `kind` enqueued for the signed-in account, saying so (or why not) in a flash."""
    try:
        job = queue.enqueue(kind, args, requested_by=current_user.username)
    except UserError as exc:
        flash(exc.localized(), "warning")
        return None
    flash(_("「%(label)s」已排队（后台任务 #%(id)s），由后台 worker 执行", label=_(kinds.get(kind).label), id=job.id),
          "success")
    return job


def _back() -> str:
    """Where a cancel or retry came from (a page of this console), or the jobs page."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("jobs.index")
