"""Browsing, filtering and exporting the audit log."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import render_template, request
from sqlalchemy import Select, select

from app.core import settings
from app.core.audit import ACTION_LABELS, AuditEntry, record
from app.core.db import transaction
from app.core.export import csv_response
from app.extensions import db

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in ("action", "actor", "target", "since", "until")}


def _query(f: dict[str, str]) -> Select:
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if f["action"]:
        q = q.where(AuditEntry.action.startswith(f["action"]))
    if f["actor"]:
        q = q.where(AuditEntry.actor_name == f["actor"])
    if f["target"]:
        q = q.where(AuditEntry.target.contains(f["target"]))
    if since := settings.start_of_corp_day(f["since"]):
        q = q.where(AuditEntry.at >= since)
    if until := settings.start_of_corp_day(f["until"]):
        q = q.where(AuditEntry.at < until + timedelta(days=1))
    return q


def details_text(details: Any) -> str:
    """An entry's details as readable JSON: Chinese as written, not \\uXXXX escapes."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details else ""


def audit():
    f = _filters()
    page = db.paginate(_query(f), per_page=PAGE_SIZE, error_out=False)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return render_template("admin/audit.html", page=page, f=f, actions=actions, action_labels=ACTION_LABELS,
                           details_text=details_text)


def audit_export():
    """CSV of the filtered log (UTF-8 with BOM so Excel opens Chinese text); the export is itself audited."""
    f = _filters()
    tz = settings.corp_timezone()
    rows = db.session.scalars(_query(f).limit(EXPORT_LIMIT)).all()
    with transaction():
        record("audit.exported", details={"filters": f, "rows": len(rows)})
    return csv_response(
        ["时间", "操作人", "操作", "对象", "IP", "详情"],
        ([r.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), r.actor_name, r.action, r.target,
          r.ip, details_text(r.details)] for r in rows),
        "audit-log.csv")
