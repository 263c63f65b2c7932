"""Lifecycle pages (blueprint `lifecycle`, under 沉睡唤醒): stages, movements and samples; members with export; settings."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import jobs
from app.contacts.models import Customer
from app.contacts.scope import scope_for
from app.core import job_runs
from app.core.export import FORMATS, table_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.jobs import views as job_pages
from app.lifecycle import config, recompute, report
from app.lifecycle.models import STAGES, LifecycleRun

bp = Blueprint("lifecycle", __name__, url_prefix="/lifecycle", template_folder="templates")
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
MARK_LABELS = {"done": N_("已写入"), "pending": N_("待写入"), "failed": N_("写入失败"), "no_staff": N_("没有跟进成员")}


def _labels() -> dict:
    return {"stage_labels": config.STAGE_LABELS, "status_labels": recompute.STATUS_LABELS,
            "mark_labels": MARK_LABELS}


@bp.get("/", endpoint="index")
@requires(P.WAKEUP_VIEW)
def index():
    scope = scope_for(current_user)
    today = report.today()
    counts = report.counts(scope)
    month_start = today - timedelta(days=report.CHART_DAYS - 1)
    return render_template(
        "lifecycle/index.html", counts=counts, total=sum(counts.values()), today=today,
        yesterday=today - timedelta(days=1), recent=report.moves_since(scope, today - timedelta(days=1)),
        month=report.moves_since(scope, month_start), month_start=month_start,
        chart=_chart(report.daily_entries(scope, today)), samples={s: report.samples(scope, s) for s in STAGES},
        run=job_runs.latest(LifecycleRun), job=jobs.active("lifecycle.recompute"), progress_of=jobs.progress_of,
        backlog=report.mark_backlog(scope), settings=config.current(), scope=scope,
        signal_labels=config.SIGNAL_LABELS, filter_labels=config.FILTER_LABELS, **_labels())


def _chart(entries: dict) -> dict:
    return {"days": entries["days"], "series": [{"name": _(config.STAGE_LABELS[stage]), "data": data}
                                                for stage, data in entries["series"].items()]}


def _member_args() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in report.FILTERS if request.args.get(k, "").strip()}


@bp.get("/customers", endpoint="customers")
@requires(P.WAKEUP_VIEW)
def customers():
    args, scope = _member_args(), scope_for(current_user)
    query = report.member_query(args, scope)
    fmt = request.args.get("format")
    if fmt:
        if fmt not in FORMATS or not current_user.can(P.CONTACTS_EXPORT):
            abort(403 if fmt in FORMATS else 400)
        rows = ([stage.external_userid, name, _(config.STAGE_LABELS[stage.stage]), stage.since,
                 stage.last_interaction_at, _(MARK_LABELS.get(stage.mark_state, stage.mark_state))]
                for stage, name in db.session.execute(query.add_columns(Customer.name).limit(EXPORT_LIMIT)))
        header = [_("客户ID"), _("客户名称"), _("阶段"), _("进入阶段日期"), _("最近互动"), _("企业微信标签")]
        return table_response(fmt, header, rows, "lifecycle-customers", _("生命周期客户"))
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template("lifecycle/customers.html", page=page, args=args, scope=scope,
                           names=report.names([s.external_userid for s in page.items]),
                           can_export=current_user.can(P.CONTACTS_EXPORT), **_labels())


@bp.post("/recompute", endpoint="recompute")
@requires(P.WAKEUP_MANAGE)
def start_recompute():
    job_pages.start("lifecycle.recompute", {"started_by": current_user.username, "cause": "daily"})
    return redirect(url_for("lifecycle.index"))


@bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
@requires(P.WAKEUP_MANAGE)
def edit_settings():
    values = config.current()
    if request.method == "POST":
        form = request.form
        try:
            values = config.validate(
                {key: key in form.getlist("signals") for key in config.SIGNAL_LABELS},
                {stage: form.get(f"days_{stage}", "") for stage in config.SILENT},
                {stage: {"kind": (kind := form.get(f"filter_{stage}", config.NO_FILTER)),
                         "values": form.getlist(f"values_{stage}_{kind}")} for stage in config.SILENT})
        except config.ConfigError as exc:
            flash(exc.localized(), "danger")
        else:
            if config.save(values, current_user.username):
                recompute.follow(current_user.username, "lifecycle.recompute",
                                 {"started_by": current_user.username, "cause": "settings"})
                flash(_("已保存；所有客户的阶段正按新设置重算（后台任务）"), "success")
            else:
                flash(_("设置没有变化"), "info")
            return redirect(url_for("lifecycle.settings"))
    return render_template("lifecycle/settings.html", values=values, signal_labels=config.SIGNAL_LABELS,
                           filter_labels=config.FILTER_LABELS, filter_values=config.FILTER_VALUES,
                           silent=config.SILENT, **_labels())
