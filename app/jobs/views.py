"""The 后台任务 page (admins: running, waiting and failed jobs, retry, cancel) and the progress API pages poll."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.core.errors import UserError
from app.core.guard import requires, signed_in
from app.core.permissions import Permission as P
from app.extensions import db
from app.jobs import kinds, queue
from app.jobs.models import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder="templates")
SECTIONS = ((RUNNING, "进行中"), (QUEUED, "排队中"), (FAILED, "失败"), (CANCELLED, "已取消"), (SUCCEEDED, "已完成"))
SHOWN = 50  # per section: the newest


@bp.get("/", endpoint="index")
@requires(P.JOBS_MANAGE)
def index():
    counts = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    sections = [(state, label, db.session.scalars(select(Job).where(Job.state == state)
                                                  .order_by(Job.id.desc()).limit(SHOWN)).all())
                for state, label in SECTIONS]
    return render_template("jobs/index.html", sections=sections, counts=counts, kinds=kinds.KINDS,
                           progress_of=queue.progress_of)


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
    return redirect(url_for("jobs.index"))


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
    """Where a cancel came from (a page of this console), or the jobs page."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("jobs.index")
