"""RFM pages (blueprint `rfm`): order import with preview, column mapping and a validation report; pages.py adds the rest."""
from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from app import jobs
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.rfm import order_import, uploads
from app.rfm.models import Order, OrderImport
from app.rfm.order_files import IMPORT_COLUMNS, auto_mapping
from app.rfm.order_rows import FIELD_LABELS, FIELDS

bp = Blueprint("rfm", __name__, url_prefix="/rfm", template_folder="templates")


def _order_totals() -> dict:
    row = db.session.execute(select(
        func.count(), func.sum(case((Order.status == "paid", 1), else_=0)),
        func.sum(case((Order.external_userid.is_(None), 1), else_=0)),
    )).one()
    return {"orders": row[0] or 0, "paid": row[1] or 0, "unmatched": row[2] or 0}


@bp.route("/orders/import", methods=["GET", "POST"], endpoint="import_orders")
@requires(P.ORDERS_IMPORT)
def import_orders():
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            path = uploads.save(current_user.id, upload.filename if upload else "", upload.stream if upload else
                                io.BytesIO())
        except uploads.UploadError as exc:
            flash(exc.localized(), "danger")
        else:
            job = order_import.create(path, upload.filename, "upload", current_user.id)
            order_import.launch(job.id, current_user.username)
            return redirect(url_for("rfm.map_orders", import_id=job.id))
    return render_template("rfm/import.html", totals=_order_totals(), fields=FIELDS, required=IMPORT_COLUMNS)


def _own_import(import_id: int) -> OrderImport | None:
    job = db.session.get(OrderImport, import_id)
    return job if job is not None and job.user_id == current_user.id else None


@bp.route("/orders/import/<int:import_id>", methods=["GET", "POST"], endpoint="map_orders")
@requires(P.ORDERS_IMPORT)
def map_orders(import_id: int):
    """An import's page: its progress while it runs, the column mapping once the file is read, its outcome."""
    job = _own_import(import_id)
    if job is None:
        flash(_("上传的文件已过期或不存在，请重新上传"), "danger")
        return redirect(url_for("rfm.import_orders"))
    if request.method == "POST" and job.status in (order_import.MAPPING, order_import.INVALID) and job.header:
        mapping = {f: request.form[f] for f in FIELDS if request.form.get(f) in job.header}
        if order_import.choose_mapping(job, mapping):
            order_import.launch(job.id, current_user.username)
        return redirect(url_for("rfm.map_orders", import_id=job.id))
    work = order_import.job_of(job.id)
    return render_template("rfm/map.html", job=job, mapping=job.mapping or auto_mapping(job.header or []),
                           fields=FIELDS, labels=FIELD_LABELS, required=IMPORT_COLUMNS, running=order_import.RUNNING,
                           stage_labels=order_import.STAGE_LABELS, work=work if work and work.active else None,
                           progress_of=jobs.progress_of)


from app.rfm import pages  # noqa: E402,F401  (the RFM page and its customer lists, on this blueprint)
