"""Journey pages (blueprint `journeys`, under 沉睡唤醒): list, editor with the step timeline, journey page (approval,
pause and resume, test run, version history) and results."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.campaigns.models import CATEGORY_LABELS
from app.campaigns.reporting.results import skip_labeller
from app.contacts import contact_list
from app.contacts.staff_labels import staff_labels
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.journeys import exits, forms, results, service, spec as specs, testrun
from app.journeys.models import Journey, JourneyEntry, JourneyStatus
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.tags.models import CorpTag, TagRule
from app.welcome.models import Channel

bp = Blueprint("journeys", __name__, url_prefix="/journeys", template_folder="templates")
LABELS = {"statuses": JourneyStatus.LABELS, "triggers": specs.TRIGGERS, "step_kinds": specs.STEPS,
          "exit_labels": exits.LABELS, "stages": specs.STAGE_LABELS, "categories": CATEGORY_LABELS,
          "classes": CLASS_LABELS, "segments": SEGMENT_LABELS, "fields": specs.CONDITION_FIELDS,
          "templates": {k: v[0] for k, v in specs.TEMPLATES.items()}, "history_labels": service.HISTORY_LABELS,
          "tag_actions": specs.TAG_ACTIONS}


def _journey(journey_id: int) -> Journey:
    return db.session.get(Journey, journey_id) or abort(404)


def _may_approve() -> bool:
    return current_user.can(P.CAMPAIGNS_APPROVE)


@bp.get("/", endpoint="index")
@requires(P.WAKEUP_VIEW)
def index():
    journeys = service.all_journeys()
    counts: dict[int, dict[str, int]] = {}
    for journey_id, status, n in db.session.execute(select(JourneyEntry.journey_id, JourneyEntry.status, func.count())
                                                    .group_by(JourneyEntry.journey_id, JourneyEntry.status)):
        counts.setdefault(journey_id, {})[status] = n
    return render_template("journeys/index.html", journeys=journeys, counts=counts,
                           may_edit=current_user.can(P.WAKEUP_MANAGE), **LABELS)


@bp.post("/new", endpoint="new")
@requires(P.WAKEUP_MANAGE)
def new():
    try:
        journey = service.create(request.form.get("name", ""), request.form.get("template") or None,
                                 current_user.username)
    except UserError as exc:
        flash(exc.localized(), "danger")
        return redirect(url_for("journeys.index"))
    return redirect(url_for("journeys.edit", journey_id=journey.id))


def _editor_choices() -> dict:
    channels = db.session.execute(select(Channel.state, Channel.name).where(Channel.state.is_not(None))
                                  .order_by(Channel.name)).all()
    tags = db.session.execute(select(CorpTag.tag_id, CorpTag.name).order_by(CorpTag.name)).all()
    ruled = set(db.session.scalars(select(TagRule.tag_id)))  # a rule keeps these in line: a step may not set them
    settable = [row for row in contact_list.tag_choices(settable=True) if row[0] not in ruled]
    return {"channels": channels, "tags": tags, "settable_tags": settable}


@bp.route("/<int:journey_id>/edit", methods=["GET", "POST"], endpoint="edit")
@requires(P.WAKEUP_MANAGE)
def edit(journey_id: int):
    journey = _journey(journey_id)
    draft, name = journey.draft, journey.name
    if request.method == "POST":
        raw = forms.spec_from(request.form)
        name = request.form.get("name", "")
        try:
            service.save(journey, name, raw, current_user.username)
        except UserError as exc:
            flash(exc.localized(), "danger")
            draft = raw  # show what was typed, with the reason (and each row's identity as posted)
        else:
            flash(_("已保存为第 %(v)s 版草稿；运行中的版本不受影响，提交审批后才会生效", v=journey.version), "success")
            return redirect(url_for("journeys.detail", journey_id=journey.id))
    return render_template("journeys/edit.html", journey=journey, draft=draft, name=name,
                           step_ids=specs.step_ids(draft) if draft is journey.draft else
                           [step.get("id") or "" for step in draft["steps"]], **_editor_choices(), **LABELS)


@bp.get("/<int:journey_id>", endpoint="detail")
@requires(P.WAKEUP_VIEW)  # read-only for supervisors, who approve from here
def detail(journey_id: int):
    journey = _journey(journey_id)
    walks = None
    customers = request.args.get("customers", "")
    may_edit = current_user.can(P.WAKEUP_MANAGE)
    if customers.strip() and may_edit:
        try:
            walks = testrun.walk(journey, forms._split(customers), utcnow())
        except UserError as exc:
            flash(exc.localized(), "danger")
    counts = dict(db.session.execute(select(JourneyEntry.status, func.count()).where(
        JourneyEntry.journey_id == journey.id).group_by(JourneyEntry.status)).all())
    return render_template("journeys/detail.html", journey=journey, history=service.history(journey.id),
                           counts=counts, walks=walks, customers=customers, may_approve=_may_approve(), may_edit=may_edit,
                           tag_names=contact_list.tag_names(),
                           staff=staff_labels([w.owner for w in walks or [] if w.owner]), **LABELS)


def _act(journey_id: int, action, done: str):
    journey = _journey(journey_id)
    try:
        action(journey)
    except UserError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(done, "success")
    return redirect(url_for("journeys.detail", journey_id=journey_id))


@bp.post("/<int:journey_id>/submit", endpoint="submit")
@requires(P.WAKEUP_MANAGE)
def submit(journey_id: int):
    return _act(journey_id, lambda j: service.submit(j, current_user.username, _may_approve()),
                _("已提交；有审批权限的账号提交即生效，否则等待主管审批"))


@bp.post("/<int:journey_id>/approve", endpoint="approve")
@requires(P.CAMPAIGNS_APPROVE)
def approve(journey_id: int):
    version = request.form.get("version", type=int) or 0
    return _act(journey_id, lambda j: service.approve(j, current_user.username, _may_approve(), version,
                                                      request.form.get("comment", "")), _("已批准，新版本开始运行"))


@bp.post("/<int:journey_id>/reject", endpoint="reject")
@requires(P.CAMPAIGNS_APPROVE)
def reject(journey_id: int):
    return _act(journey_id, lambda j: service.reject(j, current_user.username, _may_approve(),
                                                     request.form.get("comment", "")), _("已驳回"))


@bp.post("/<int:journey_id>/pause", endpoint="pause")
@requires(P.WAKEUP_MANAGE)
def pause(journey_id: int):
    reason = request.form.get("reason", "").strip() or _("手动暂停")
    return _act(journey_id, lambda j: service.pause(j, current_user.username, reason), _("已暂停"))


@bp.post("/<int:journey_id>/resume", endpoint="resume")
@requires(P.WAKEUP_MANAGE)
def resume(journey_id: int):
    return _act(journey_id, lambda j: service.resume(j, current_user.username), _("已恢复运行"))


@bp.post("/<int:journey_id>/archive", endpoint="archive")
@requires(P.WAKEUP_MANAGE)
def archive(journey_id: int):
    return _act(journey_id, lambda j: service.archive(j, current_user.username), _("已归档，在途客户已移出"))


@bp.get("/<int:journey_id>/results", endpoint="results")
@requires(P.WAKEUP_VIEW)
def results_page(journey_id: int):
    journey = _journey(journey_id)
    return render_template("journeys/results.html", journey=journey, r=results.of(journey), tag_names=contact_list.tag_names(),
                           skip_label=skip_labeller(), guard_hours=results.GUARD_HOURS, **LABELS)


from app.journeys import approval_queue  # noqa: E402,F401  (lists pending versions in the approvals queue)
