"""Push pages (blueprint `campaigns`): list, editor, campaign page, dry run, submit and approve, run, test send, cancel."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.campaigns.approval import approvals, queue as approval_queue, review
from app.campaigns.editor import checks, editing, forms, preview
from app.campaigns.execution import runs
from app.campaigns.policy import policies
from app.campaigns.editor.editing import CampaignInvalid
from app.campaigns.models import (CATEGORY_LABELS, CHAT_TYPE_LABELS, SCHEDULE_LABELS, Campaign, CampaignRun,
                                  CampaignStatus)
from app.campaigns.reporting.results import skip_labeller
from app.contacts import contact_list
from app.contacts.models import CustomerGroup, Department, Staff
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core import content
from app.core.errors import UserError
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.media import service as media
from app.media.views import preview_attachment
from app.segments import service as segments
from app.sending import sendrules
from app.sending.models import Delivery, RunStatus
from app.sending.sendrules import render_text
from app.wordlist import matcher as wordlist

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns", template_folder="templates")
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
LABELS = {"categories": CATEGORY_LABELS, "chat_types": CHAT_TYPE_LABELS, "schedules": SCHEDULE_LABELS,
          "statuses": CampaignStatus.LABELS, "run_statuses": RunStatus.LABELS}


REJECTED = "rejected"  # not a status: a draft whose current version was rejected (approvals.rejected)


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _own_campaign(campaign_id: int) -> Campaign:
    """The campaign, when the signed-in account may change a push of its kind (403 otherwise)."""
    campaign = _campaign(campaign_id)
    if not editing.may_send(current_user, campaign.chat_type):
        abort(403)
    return campaign


def _latest_runs(ids: list[int]) -> dict[int, CampaignRun]:
    latest = (select(CampaignRun.campaign_id, func.max(CampaignRun.id).label("id"))
              .where(CampaignRun.campaign_id.in_(ids), CampaignRun.kind != "test")
              .group_by(CampaignRun.campaign_id).subquery())
    return {run.campaign_id: run for run in db.session.scalars(select(CampaignRun).join(latest, latest.c.id == CampaignRun.id))}


def _sent(run_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(select(Delivery.run_id, func.count()).where(
        Delivery.run_id.in_(run_ids), Delivery.status == "sent").group_by(Delivery.run_id)).all())


@bp.route("/")
@requires(P.CAMPAIGNS_VIEW)
def index():
    status = request.args.get("status", "")
    query = select(Campaign).order_by(Campaign.updated_at.desc(), Campaign.id.desc()).limit(200)
    if status == REJECTED:
        query = query.where(Campaign.id.in_(approvals.rejected().with_only_columns(Campaign.id)))
    elif status in CampaignStatus.LABELS:
        query = query.where(Campaign.status == status)
    campaigns = list(db.session.scalars(query))
    latest = _latest_runs([c.id for c in campaigns])
    return render_template("campaigns/index.html", campaigns=campaigns, latest=latest, status=status,
                           rejections=approvals.rejections([c.id for c in campaigns]),
                           sent=_sent([r.id for r in latest.values()]),
                           pending=approval_queue.count() if current_user.can(P.CAMPAIGNS_APPROVE) else 0, **LABELS)


def _group_chips(values: dict) -> dict:
    """What the group pickers show as chosen: owners and groups by name."""
    gf = values["group_filter"]
    owners = staff_labels(gf.get("owners") or [])
    names = dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name)
                                    .where(CustomerGroup.chat_id.in_(gf.get("chat_ids") or []))).all())
    return {"owner_chips": [(u, owners.get(u, u)) for u in gf.get("owners") or []],
            "group_chips": [(c, names.get(c) or c) for c in gf.get("chat_ids") or []]}


def _editor(campaign: Campaign | None, spec: dict, invalid: CampaignInvalid | None = None, status: int = 200):
    active = db.session.scalars(select(Staff.userid).where(Staff.removed_at.is_(None))
                                .order_by(Staff.name, Staff.userid)).all()
    labels = staff_labels(active, always=True)
    departments = list(db.session.scalars(select(Department).where(Department.removed_at.is_(None))
                                          .order_by(Department.id)))
    problems = invalid.messages(_) if invalid else []
    kinds = {k: label for k, label in CHAT_TYPE_LABELS.items() if editing.may_send(current_user, k)}
    words = invalid.words if invalid else {}
    texts = {"content": spec.get("content", {}).get("text", ""),
             "variants.B": (spec.get("variants") or [{}, {}])[1].get("content", {}).get("text", "")
             if len(spec.get("variants") or []) > 1 else ""}
    values = forms.form_values(spec)
    library = media.attachable()
    return render_template("campaigns/edit.html", campaign=campaign, v=values,
                           staff_choices=[(u, labels[u]) for u in active], tags=contact_list.tag_choices(),
                           library=library, covers=[i for i in library if i.kind == "image"],
                           editor_attachments=values["editor_attachments"], **_group_chips(values),
                           departments=departments, segments=segments.list_segments(), weekdays=WEEKDAYS,
                           problems=problems, fields={f for f, _m in problems}, texts=texts,
                           marked={f: wordlist.highlighted(texts.get(f, ""), hits) for f, hits in words.items()},
                           errors=invalid.content_errors() if invalid else [], kinds=content.KINDS,
                           fields_of=forms.EDITOR_FIELDS, variables=sendrules.VARIABLES, max_attachments=content.MAX_ATTACHMENTS,
                           unfillable=editing.unfillable(spec) if campaign and not invalid else [], **dict(LABELS, chat_types=kinds)), status


def _new_spec() -> dict:
    """A new push; `?chat_type=group&chat_ids=…` (the group list's bulk action) starts it for those groups."""
    spec: dict = {"category": "promotion"}
    if request.args.get("chat_type") == "group":
        spec.update(chat_type="group", group_filter={"chat_ids": request.args.getlist("chat_ids")})
    return spec


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"], endpoint="edit")
@requires(P.CAMPAIGNS_EDIT)
def new(campaign_id: int | None = None):
    campaign = _own_campaign(campaign_id) if campaign_id else None
    if request.method == "GET":
        return _editor(campaign, editing.spec_of(campaign) if campaign else _new_spec())
    spec = forms.spec_from_form(request.form)
    try:
        editing.refuse_unless_may_send(current_user, spec.get("chat_type") or "single")
        campaign = editing.save(campaign, spec, current_user.username)
    except CampaignInvalid as exc:
        return _editor(campaign, spec, exc, 422)
    flash(_("已保存（第 %(v)s 版）。提交后才会发送。", v=campaign.version), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>")
@requires(P.CAMPAIGNS_VIEW)
def detail(campaign_id: int):
    campaign = _campaign(campaign_id)
    spec = editing.spec_of(campaign)
    run_list = list(db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id)
                                       .order_by(CampaignRun.id.desc()).limit(50)))
    active = db.session.scalars(select(Staff.userid).where(Staff.status == 1, Staff.removed_at.is_(None))
                                .order_by(Staff.name, Staff.userid)).all()
    labels = staff_labels(active)
    staff = [(userid, labels[userid]) for userid in active]
    sample_staff = editing.sample_sender()
    approved = review.last_approved(campaign)
    counted = checks.latest(campaign, checks.SUBMIT) or checks.latest(campaign)
    return render_template("campaigns/detail.html", campaign=campaign, spec=spec, runs=run_list, staff=staff,
                           audience=review.audience(review.snapshot(spec)), approved=approved,
                           changes=review.changes(approved.spec, review.snapshot(spec)) if approved else [],
                           counted=preview.Preview.from_json(counted.result) if counted and counted.result else None,
                           may_change=editing.may_change(current_user, campaign),
                           rendered=[(v.get("key", "A"), (render_text(v["content"].get("text", ""), sample_staff),
                                                          [preview_attachment(a) for a in v["content"].get("attachments") or []]))
                                     for v in (spec["variants"] or [{"key": "A", "content": spec["content"]}])],
                           history=approvals.history(campaign.id), sample_staff=sample_staff,
                           rejection=approvals.rejections([campaign.id]).get(campaign.id),
                           unfillable=editing.unfillable(spec),
                           submission=approvals.submission(campaign), running=checks.is_running, progress=checks.progress,
                           check_job=checks.job_of,
                           misfire=policies.current().misfire_minutes, weekdays=WEEKDAYS,
                           schedule=editing.schedule_of(campaign), **LABELS)


@bp.route("/<int:campaign_id>/preview")
@requires(P.CAMPAIGNS_VIEW)
def preview_page(campaign_id: int):
    """The dry run's numbers: computed by a worker when asked (a GET starts nothing), kept a few minutes."""
    campaign = _campaign(campaign_id)
    may_check = current_user.can(P.CAMPAIGNS_CHECK)
    check = checks.for_preview(campaign) if may_check else checks.latest(campaign)
    scope = scope_for(current_user)
    result = preview.Preview.from_json(check.result) if check and check.result else None
    result = result and preview.within(result, scope, campaign.chat_type)
    return render_template("campaigns/preview.html", campaign=campaign, check=check, result=result,
                           running=checks.is_running(check), progress=check and checks.progress(check),
                           check_job=checks.job_of,
                           may_check=may_check, scoped=not scope.everything,
                           skip_label=skip_labeller(),
                           threshold=policies.current().approval_threshold, **LABELS)


@bp.post("/<int:campaign_id>/preview", endpoint="preview_again")
@requires(P.CAMPAIGNS_CHECK)
def preview_again(campaign_id: int):
    checks.start(_campaign(campaign_id), checks.PREVIEW, current_user.username)
    return redirect(url_for("campaigns.preview_page", campaign_id=campaign_id))


def _act(campaign_id: int, action, done: str, approving: bool = False):
    """Run `action` on the campaign and say how it went; a change (not an approval) needs the right to send its kind."""
    campaign = _campaign(campaign_id) if approving else _own_campaign(campaign_id)
    try:
        action(campaign)
    except (UserError, CampaignInvalid) as exc:
        flash(exc.localized() if isinstance(exc, UserError) else "；".join(m for _f, m in exc.messages(_)), "danger")
    else:
        flash(done, "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id))


@bp.route("/<int:campaign_id>/submit", methods=["POST"])
@requires(P.CAMPAIGNS_EDIT)
def submit(campaign_id: int):
    return _act(campaign_id, lambda c: approvals.submit(c, current_user.username),
                _("已提交，正在计算发送人数。超过审批阈值的群发需主管审批后才会发送。"))


@bp.route("/<int:campaign_id>/decide", methods=["POST"])
@requires(P.CAMPAIGNS_APPROVE)
def decide(campaign_id: int):
    comment, who, may = request.form.get("comment", ""), current_user.username, current_user.can(P.CAMPAIGNS_APPROVE)
    if request.form.get("decision") == "reject":
        return _act(campaign_id, lambda c: approvals.reject(c, who, may, comment), _("已驳回，退回草稿。"), approving=True)
    version = int(request.form.get("version") or 0) if (request.form.get("version") or "").isdigit() else 0
    return _act(campaign_id, lambda c: approvals.approve(c, who, may, version, comment), _("已审批通过。"),
                approving=True)


@bp.route("/<int:campaign_id>/run", methods=["POST"])
@requires(P.CAMPAIGNS_EDIT)
def run_now(campaign_id: int):
    return _act(campaign_id, lambda c: runs.run_now(c, current_user.username),
                _("已开始执行：正在后台规划发送对象，见下方执行记录。"))


@bp.route("/<int:campaign_id>/test", methods=["POST"])
@requires(P.CAMPAIGNS_EDIT)
def test_send(campaign_id: int):
    sender, customer = request.form.get("sender", ""), request.form.get("external_userid", "").strip()
    return _act(campaign_id, lambda c: runs.test_send(c, sender, customer, current_user.username),
                _("测试消息已创建，成员在企业微信中确认后发出。"))


@bp.route("/<int:campaign_id>/cancel", methods=["POST"])
@requires(P.CAMPAIGNS_EDIT)
def cancel(campaign_id: int):
    return _act(campaign_id, lambda c: runs.cancel(c, current_user.username), _("已取消，不会再发送。"))


@bp.route("/approvals")
@requires(P.CAMPAIGNS_APPROVE)
def approvals_queue():
    return render_template("campaigns/approvals.html", waiting=approval_queue.waiting())


from app.campaigns.policy import policy_views  # noqa: E402,F401  (settings and do-not-disturb pages, on this blueprint)
from app.campaigns.reporting import results_views  # noqa: E402,F401  (routes of the results page)
from app.campaigns.editor import media_use  # noqa: E402,F401  (registers pushes as users of the media library)
from app.campaigns.approval import push_queue  # noqa: E402,F401  (lists waiting pushes in the approvals queue)
