"""The results page of a campaign (funnel, staff execution, conversions), its deliveries export, and run cancel."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.campaigns.editor import editing
from app.campaigns.reporting import results
from app.campaigns.models import Campaign, CampaignRun
from app.campaigns.views import bp
from app.contacts.models import Customer, Staff
from app.contacts.scope import scope_for
from app.core import settings
from app.core.audit import record
from app.core.db import transaction
from app.core.export import csv_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.sending import polling
from app.sending.models import Delivery, RunStatus

EXPORT_HEADER = (N_("运行"), N_("客户或群 ID"), N_("客户昵称"), N_("发送成员"), N_("成员姓名"), N_("版本"), N_("状态"),
                 N_("跳过/失败原因"), N_("送达时间"))
STATUS_LABELS = {"planned": N_("待发送"), "skipped": N_("已跳过"), "holdout": N_("对照组"), "submitted": N_("已提交"),
                 "sent": N_("已送达"), "failed": N_("失败")}


def _campaign_and_runs(campaign_id: int) -> tuple[Campaign, list[CampaignRun], list[CampaignRun]]:
    """The campaign, all its runs, and the runs chosen by ?run= (all of them by default)."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    return campaign, *results.runs_chosen(campaign_id, request.args.get("run", type=int))


@bp.get("/<int:campaign_id>/results", endpoint="results")
@requires(P.CAMPAIGNS_VIEW)
def results_page(campaign_id: int):
    campaign, runs, chosen = _campaign_and_runs(campaign_id)
    days = min(results.MAX_WINDOW_DAYS, max(1, request.args.get("days", campaign.attribution_days or 3, type=int)))
    ids = [r.id for r in chosen]
    scope = scope_for(current_user)
    return render_template(
        "campaigns/results.html", campaign=campaign, runs=runs, chosen=request.args.get("run", type=int),
        may_change=editing.may_change(current_user, campaign),
        funnel=results.funnel(ids, scope), staff=results.per_staff(ids, scope), days=days, scope=scope,
        uplifts=results.conversions(chosen, days, scope) if campaign.chat_type == "single" else None,
        run_labels=RunStatus.LABELS, fail_labels=results.FAIL_LABELS, skip_label=results.skip_labeller(),
        open_statuses=set(RunStatus.LABELS) - set(RunStatus.FINAL), tz=settings.corp_timezone())


@bp.get("/<int:campaign_id>/results/deliveries.csv", endpoint="results_export")
@requires(P.CONTACTS_EXPORT)
def export_deliveries(campaign_id: int):
    campaign, _runs, chosen = _campaign_and_runs(campaign_id)
    rows = db.session.execute(
        select(Delivery.run_id, Delivery.target_key, Customer.name, Delivery.sender_userid, Staff.name,
               Delivery.variant_key, Delivery.status, Delivery.skip_reason, Delivery.fail_reason, Delivery.sent_at)
        .outerjoin(Customer, Customer.external_userid == Delivery.target_key)
        .outerjoin(Staff, Staff.userid == Delivery.sender_userid)
        .where(Delivery.run_id.in_([r.id for r in chosen]), results.visible(scope_for(current_user)))
        .order_by(Delivery.run_id, Delivery.id)).all()
    with transaction():
        record("campaigns.deliveries_exported", target=campaign.name,
               details={"campaign_id": campaign.id, "runs": [r.id for r in chosen], "rows": len(rows)})
    skip_label = results.skip_labeller()
    out = ((run_id, target, cname, sender, sname, variant, _(STATUS_LABELS.get(status, status)),
            _(results.FAIL_LABELS[fail]) if fail in results.FAIL_LABELS else skip_label(skip or ""),
            sent_at)
           for run_id, target, cname, sender, sname, variant, status, skip, fail, sent_at in rows)
    return csv_response([_(h) for h in EXPORT_HEADER], out, f"campaign-{campaign.id}-deliveries.csv")


@bp.post("/runs/<int:run_id>/cancel", endpoint="cancel_run")
@requires(P.CAMPAIGNS_EDIT)
def cancel_run(run_id: int):
    run = db.session.get(CampaignRun, run_id) or abort(404)
    if not editing.may_send(current_user, db.session.get(Campaign, run.campaign_id).chat_type):
        abort(403)
    outcome = polling.cancel_run(run_id)
    if not outcome["cancelled"]:
        flash(_("这次运行已结束，无需取消"), "warning")
    elif outcome["wecom_failed"]:
        flash(_("已取消；%(n)s 个企业微信群发任务取消失败，成员可能仍能发送", n=outcome["wecom_failed"]), "danger")
    else:
        flash(_("已取消：%(s)s 位客户不再发送，%(t)s 个企业微信群发任务已撤回未发部分",
                s=outcome["skipped"], t=outcome["wecom_tasks"]), "success")
    return redirect(url_for("campaigns.results", campaign_id=run.campaign_id, run=run_id))
