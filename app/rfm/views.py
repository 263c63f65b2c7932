"""RFM pages (blueprint `rfm`): order import with preview, column mapping and a validation report; pages.py adds the rest."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from app.core import settings
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.rfm import ingest, uploads
from app.rfm.models import Order
from app.rfm.order_files import IMPORT_COLUMNS, OrderFileError, auto_mapping, read_table, records
from app.rfm.order_rows import FIELD_LABELS, FIELDS

bp = Blueprint("rfm", __name__, url_prefix="/rfm", template_folder="templates")
PREVIEW_ROWS = 10
REPORT_ROWS = 500


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
            key = uploads.save(current_user.id, upload.filename if upload else "", upload.read() if upload else b"")
        except uploads.UploadError as exc:
            flash(exc.localized(), "danger")
        else:
            return redirect(url_for("rfm.map_orders", key=key))
    return render_template("rfm/import.html", totals=_order_totals(), fields=FIELDS, required=IMPORT_COLUMNS)


@bp.route("/orders/import/<key>", methods=["GET", "POST"], endpoint="map_orders")
@requires(P.ORDERS_IMPORT)
def map_orders(key: str):
    try:
        path = uploads.path_for(current_user.id, key)
        table = read_table(path)
    except uploads.UploadError as exc:
        flash(exc.localized(), "danger")
        return redirect(url_for("rfm.import_orders"))
    except OrderFileError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("rfm.import_orders"))
    mapping = auto_mapping(table.header)
    errors = None
    if request.method == "POST":
        mapping = {f: request.form[f] for f in FIELDS if request.form.get(f) in table.header}
        try:
            orders = records(table, settings.corp_timezone(), mapping)
        except OrderFileError as exc:
            errors = exc.errors
        else:
            counts = ingest.store_orders(orders, source="upload")
            uploads.discard(path)
            flash(_("导入完成：新增 %(a)s，更新 %(u)s，未变 %(n)s", a=counts.added, u=counts.updated,
                    n=counts.unchanged), "success")
            return redirect(url_for("rfm.import_orders"))
    return render_template("rfm/map.html", key=key, table=table, preview=table.rows[:PREVIEW_ROWS],
                           mapping=mapping, fields=FIELDS, labels=FIELD_LABELS, required=IMPORT_COLUMNS,
                           errors=errors[:REPORT_ROWS] if errors else None, error_count=len(errors or ()))


from app.rfm import pages  # noqa: E402,F401  (the RFM page and its customer lists, on this blueprint)
