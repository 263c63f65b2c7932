"""Transfer pages (blueprint `transfer`): 离职继承, 在职继承, a batch's progress and results with its Excel export,
and the AB角 settings. Views parse the form and call app/transfer/service.py; the jobs call WeCom."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import jobs
from app.contacts.models import FollowRelation, Staff
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core import audit
from app.core.db import transaction
from app.core.export import requested_format, table_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.transfer import pages, service
from app.transfer.models import ONJOB, RESIGNED, TransferBatch
from app.web import error_page

bp = Blueprint("transfer", __name__, url_prefix="/transfer", template_folder="templates")


def _takeover(form) -> str:
    """The member picked by name, else the AB角 when that option is chosen (service.resolve_takeover checks both)."""
    picked = form.get("takeover", "").strip()
    return picked or ("backup" if form.get("takeover_mode") == "backup" else "")


def _in_scope(userid: str) -> bool:
    scope = scope_for(current_user)
    return scope.everything or userid in scope.userids


def _plan(selection: service.Selection, back: str):
    if not _in_scope(selection.handover) or (selection.takeover not in ("", "backup")
                                             and not _in_scope(selection.takeover)):
        abort(error_page(403, _("该员工不在您负责的部门范围内")))
    try:
        batch = service.plan(selection, current_user.username)
    except service.TransferRequestError as exc:
        flash(exc.localized(), "warning")
        return redirect(back)
    return redirect(url_for("transfer.batch", batch_id=batch.id))


@bp.get("/", endpoint="resigned")
@requires(P.TRANSFER_MANAGE)
def resigned():
    scope = scope_for(current_user)
    return render_template("transfer/resigned.html", people=pages.departed(scope), refreshed=pages.last_refresh(),
                           refresh_job=jobs.active("transfer.unassigned"), batches=pages.batches(scope),
                           kind_labels=pages.KIND_LABELS, status_labels=pages.STATUS_LABELS, scope=scope)


@bp.post("/refresh", endpoint="refresh")
@requires(P.TRANSFER_MANAGE)
def refresh():
    try:
        jobs.enqueue("transfer.unassigned", {}, requested_by=current_user.username)
        with transaction():
            audit.record("transfer.unassigned_refreshed")
    except jobs.JobBusy:
        flash(_("正在读取离职成员的客户，请稍候"), "info")
    return redirect(url_for("transfer.resigned"))


@bp.post("/resigned/<userid>", endpoint="assign_resigned")
@requires(P.TRANSFER_MANAGE)
def assign_resigned(userid: str):
    form = request.form
    selection = service.Selection(
        RESIGNED, userid, _takeover(form),
        service.unassigned_of(userid) if form.get("customers") else [],
        service.groups_of(userid) if form.get("groups") else [])
    return _plan(selection, url_for("transfer.resigned"))


def _onjob_customers(handover: str, scope_kind: str, form) -> list[str]:
    if scope_kind == "segment":
        from app.segments import service as segments
        from app.contacts.models import Customer

        segment = segments.get_segment(int(form.get("segment_id") or 0)) if (form.get("segment_id") or "").isdigit() \
            else None
        if segment is None:
            raise service.TransferRequestError(N_("请选择人群"))
        members = segments.member_ids(segment.rule)
        return list(db.session.scalars(
            select(FollowRelation.external_userid).join(Customer, Customer.external_userid ==
                                                        FollowRelation.external_userid)
            .where(FollowRelation.userid == handover, FollowRelation.ended_at.is_(None),
                   Customer.id.in_(members)).order_by(FollowRelation.id)))
    if scope_kind == "chosen":
        chosen = set(form.getlist("external_userid"))
        return [e for e in service.customers_of(handover) if e in chosen]
    return service.customers_of(handover) if scope_kind == "all" else []


@bp.route("/onjob", methods=["GET", "POST"], endpoint="onjob")
@requires(P.TRANSFER_MANAGE)
def onjob():
    from app.segments.service import list_segments

    scope = scope_for(current_user)
    if request.method == "POST":
        form = request.form
        handover = form.get("handover", "").strip()
        if not handover:
            flash(_("请选择原跟进成员"), "warning")
            return redirect(url_for("transfer.onjob"))
        try:
            customers = _onjob_customers(handover, form.get("scope", "all"), form)
        except service.TransferRequestError as exc:
            flash(exc.localized(), "warning")
            return redirect(url_for("transfer.onjob"))
        selection = service.Selection(ONJOB, handover, _takeover(form), customers,
                                      service.groups_of(handover) if form.get("groups") else [],
                                      form.get("success_msg", "").strip())
        return _plan(selection, url_for("transfer.onjob"))
    return render_template("transfer/onjob.html", segments=list_segments(), batches=pages.batches(scope),
                           kind_labels=pages.KIND_LABELS, status_labels=pages.STATUS_LABELS, scope=scope)


def _batch_or_404(batch_id: int) -> TransferBatch:
    batch = db.session.get(TransferBatch, batch_id)
    if not pages.in_scope(scope_for(current_user), batch):
        abort(error_page(404, _("没有这个继承批次")))
    return batch


@bp.get("/batches/<int:batch_id>", endpoint="batch")
@requires(P.TRANSFER_MANAGE)
def batch(batch_id: int):
    found = _batch_or_404(batch_id)
    status = request.args.get("status", "")
    if status and status not in pages.STATUS_LABELS:
        abort(error_page(400, _("status 只能是 %(values)s", values="、".join(pages.STATUS_LABELS))))
    job = jobs.active(f"transfer.submit:{batch_id}")
    return render_template("transfer/batch.html", view=pages.batch_view(found, status), status=status, job=job,
                           status_labels=pages.STATUS_LABELS, status_order=pages.STATUS_ORDER,
                           kind_labels=pages.KIND_LABELS, target_labels=pages.TARGET_LABELS)


@bp.get("/batches/<int:batch_id>/export", endpoint="export")
@requires(P.TRANSFER_MANAGE)
def export(batch_id: int):
    found = _batch_or_404(batch_id)
    view = pages.batch_view(found, request.args.get("status", "") if request.args.get("status") in
                            pages.STATUS_LABELS else "", limit=None)
    header = [_("类型"), _("客户或客户群"), "ID", _("原跟进成员"), _("接替成员"), _("状态"), _("原因"), _("提交时间"),
              _("完成时间")]
    rows = [[_(pages.TARGET_LABELS[r.item.target]), r.name, r.item.object_id, view.labels[found.handover_userid],
             view.labels[found.takeover_userid], _(pages.STATUS_LABELS[r.item.status]), pages.reason_text(r.item),
             r.item.accepted_at, r.item.finished_at] for r in view.rows]
    with transaction():
        audit.record("transfer.exported", target=f"batch:{batch_id}", details={"rows": len(rows)})
    return table_response(requested_format(request.args.get("format")), header, rows, f"transfer-{batch_id}",
                          _("继承结果"))


@bp.route("/backups", methods=["GET", "POST"], endpoint="backups")
@requires(P.TRANSFER_MANAGE)
def backups():
    scope = scope_for(current_user)
    if request.method == "POST":
        userid = request.form.get("userid", "").strip()
        if not _in_scope(userid):
            abort(error_page(403, _("该员工不在您负责的部门范围内")))
        try:
            service.set_backup(userid, request.form.get("backup", "").strip(), current_user.username)
            flash(_("已保存 AB 角"), "success")
        except service.TransferRequestError as exc:
            flash(exc.localized(), "warning")
        return redirect(url_for("transfer.backups", q=request.args.get("q", "")))
    q = request.args.get("q", "").strip()
    query = select(Staff.userid).where(Staff.removed_at.is_(None), Staff.is_follow_user.is_(True),
                                       scope.staff_filter(Staff.userid))
    if q:
        query = query.where(Staff.name.contains(q, autoescape=True) | Staff.userid.contains(q, autoescape=True))
    userids = db.session.scalars(query.order_by(Staff.name, Staff.userid).limit(200)).all()
    chosen = service.backups_of(userids)
    labels = staff_labels(list(userids) + [b for b in chosen.values() if b], always=True)
    return render_template("transfer/backups.html", rows=[(u, chosen[u]) for u in userids], labels=labels, q=q,
                           scope=scope)
