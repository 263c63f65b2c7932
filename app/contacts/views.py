"""The contacts pages (blueprint `contacts`); for now the sync job pages: runs, a run's progress, start a full sync."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.contacts import sync
from app.contacts.models import SyncRun
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db

bp = Blueprint("contacts", __name__, url_prefix="/contacts", template_folder="templates")
PAGE_SIZE = 20
LABELS = {"status_labels": sync.STATUS_LABELS, "stage_labels": sync.STAGE_LABELS,
          "entity_labels": sync.ENTITY_LABELS, "percent": sync.percent}


@bp.get("/sync", endpoint="sync_runs")
@requires(P.SYNC_RUN)
def sync_runs():
    page = db.paginate(select(SyncRun).order_by(SyncRun.id.desc()), per_page=PAGE_SIZE, error_out=False)
    return render_template("contacts/sync_runs.html", page=page, **LABELS)


@bp.post("/sync/start", endpoint="sync_start")
@requires(P.SYNC_RUN)
def sync_start():
    """Start a full sync (or resume the failed one) on a background thread, then show its progress."""
    try:
        run = sync.begin(current_user.username)
    except sync.SyncBusy as exc:
        flash(str(exc), "warning")
        return redirect(url_for("contacts.sync_runs"))
    sync.execute_in_background(current_app._get_current_object(), run.id)
    flash(_("同步 #%(id)s 已开始", id=run.id) if run.attempts == 1
          else _("同步 #%(id)s 从中断处继续", id=run.id), "success")
    return redirect(url_for("contacts.sync_run", run_id=run.id))


@bp.get("/sync/<int:run_id>", endpoint="sync_run")
@requires(P.SYNC_RUN)
def sync_run(run_id: int):
    run = db.session.get(SyncRun, run_id) or abort(404)
    return render_template("contacts/sync_run.html", run=run, **LABELS)


@bp.get("/sync/<int:run_id>/progress", endpoint="sync_progress")
@requires(P.SYNC_RUN)
def sync_progress(run_id: int):
    """What the run page polls while the run is going."""
    run = db.session.get(SyncRun, run_id) or abort(404)
    return jsonify(status=run.status, stage=_(sync.STAGE_LABELS[run.stage]), percent=sync.percent(run),
                   counts=run.counts)
