"""The RFM page (grid, segments, classes, movements), its customer lists, and the 'recompute now' button.

Seeing the page needs RFM_VIEW. Recomputing needs ORDERS_IMPORT: it re-tags customers in WeCom, so it belongs
to those who feed the orders (operators, admins), not to read-only supervisors and viewers.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import jobs
from app.jobs import views as job_pages
from app.contacts.scope import scope_for
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.rfm import recompute, report
from app.rfm.models import Order
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.rfm.views import bp
from app.wecom import connection

PAGE_SIZE = 50
LABELS = {"segment_labels": SEGMENT_LABELS, "class_labels": CLASS_LABELS,
          "status_labels": recompute.STATUS_LABELS, "stage_labels": recompute.STAGE_LABELS,
          "percent": recompute.percent}


@bp.get("/", endpoint="index")
@requires(P.RFM_VIEW)
def index():
    scope = scope_for(current_user)
    has_orders = db.session.scalar(select(Order.id).limit(1)) is not None
    segments, classes = report.segments(scope), report.classes(scope)
    charts = {name: [{"key": g.key, "label": _(labels[g.key]), "customers": g.customers} for g in groups]
              for name, groups, labels in (("segments", segments, SEGMENT_LABELS), ("classes", classes, CLASS_LABELS))}
    return render_template("rfm/index.html", has_orders=has_orders, run=recompute.latest_run(),
                           job=jobs.active("rfm.recompute"), progress_of=jobs.progress_of,
                           scored=report.scored_customers(scope), grid=report.grid(scope), segments=segments,
                           classes=classes, charts=charts, movements=report.movements(scope),
                           backlog=report.mark_backlog(scope), scope=scope,
                           can_recompute=current_user.can(P.ORDERS_IMPORT), mark_budget=connection.mark_tag_budget(),
                           **LABELS)


@bp.get("/customers", endpoint="customers")
@requires(P.RFM_VIEW)
def customers():
    args = {k: request.args.get(k, "").strip() for k in report.FILTERS if request.args.get(k, "").strip()}
    scope = scope_for(current_user)
    page = db.paginate(report.customer_query(args, scope), per_page=PAGE_SIZE, error_out=False)
    names = report.names([s.external_userid for s in page.items])
    return render_template("rfm/customers.html", page=page, args=args, names=names, scope=scope, **LABELS)


@bp.post("/recompute", endpoint="recompute")
@requires(P.ORDERS_IMPORT)
def start_recompute():
    job_pages.start("rfm.recompute", {"started_by": current_user.username})
    return redirect(url_for("rfm.index"))
