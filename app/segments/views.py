"""The segment pages (blueprint `segments`): saved segments, the builder with its live count, members, export."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.audit import record
from app.core.db import transaction
from app.core.export import requested_format, table_response
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.segments import exports, pages, service

bp = Blueprint("segments", __name__, url_prefix="/segments", template_folder="templates")
STATIC = Path(__file__).parent / "static"


def _segment(segment_id: int) -> service.Segment:
    return service.get_segment(segment_id) or abort(404)


def _show_mobile() -> bool:
    return current_user.can(P.CONTACTS_VIEW_MOBILE)


@bp.get("/", endpoint="index")
@requires(P.SEGMENTS_MANAGE)
def index():
    return render_template("segments/index.html", segments=service.list_segments())


def _builder(segment, name: str, description: str, rule: dict, problems=(), status: int = 200):
    return render_template("segments/builder.html", segment=segment, name=name, description=description,
                           rule=rule, problems=problems, problem_dicts=[p.as_dict(_) for p in problems],
                           choices=pages.builder_choices()), status


@bp.get("/builder.js", endpoint="script")
@requires(P.SEGMENTS_MANAGE)
def script():
    """The builder's script (served here: the app-wide guard admits no undeclared static route)."""
    return send_from_directory(STATIC, "builder.js", mimetype="text/javascript")


@bp.get("/new", endpoint="new")
@requires(P.SEGMENTS_MANAGE)
def new():
    return _builder(None, "", "", {"op": "and", "rules": []})


@bp.get("/<int:segment_id>", endpoint="edit")
@requires(P.SEGMENTS_MANAGE)
def edit(segment_id: int):
    segment = _segment(segment_id)
    return _builder(segment, segment.name, segment.description, segment.rule)


def _posted_rule():
    try:
        return json.loads(request.form.get("rule") or "")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes: "not a rule"
        return None


@bp.post("/save", endpoint="save")
@bp.post("/<int:segment_id>/save", endpoint="update")
@requires(P.SEGMENTS_MANAGE)
def save(segment_id: int | None = None):
    """Create or change a segment; on a bad name or rule the builder comes back with every problem named."""
    segment = _segment(segment_id) if segment_id else None
    name, description = request.form.get("name", ""), request.form.get("description", "")
    rule = _posted_rule()
    try:
        if segment:
            service.update_segment(segment, name, description, rule)
        else:
            segment = service.create_segment(name, description, rule, current_user.username)
    except service.RuleError as exc:
        flash(_("未保存：请修正标出的问题。"), "danger")
        return _builder(segment, name, description, rule if isinstance(rule, dict) else {"op": "and", "rules": []},
                        exc.problems, 422)
    flash(_("已保存人群「%(name)s」，当前 %(count)s 人。", name=segment.name, count=segment.last_count), "success")
    return redirect(url_for("segments.edit", segment_id=segment.id))


@bp.post("/<int:segment_id>/delete", endpoint="delete")
@requires(P.SEGMENTS_MANAGE)
def delete(segment_id: int):
    segment = _segment(segment_id)
    name = segment.name
    service.delete_segment(segment)
    flash(_("已删除人群「%(name)s」。", name=name), "success")
    return redirect(url_for("segments.index"))


@bp.post("/preview", endpoint="preview")
@requires(P.SEGMENTS_MANAGE)
def preview():
    """The builder's live count and sample for the rule being edited (JSON in, JSON out)."""
    body = request.get_json(silent=True) or {}
    return jsonify(pages.preview(body.get("rule"), _show_mobile()))


@bp.get("/<int:segment_id>/members", endpoint="members")
@requires(P.SEGMENTS_MANAGE)
def members(segment_id: int):
    segment = _segment(segment_id)
    page = pages.member_page(segment, request.args.get("page", 1, type=int) or 1, _show_mobile())
    return render_template("segments/members.html", segment=segment, page=page, page_size=pages.PAGE_SIZE)


@bp.get("/<int:segment_id>/export", endpoint="export")
@requires(P.CONTACTS_EXPORT)
def export(segment_id: int):
    """The members as Excel (or CSV with ?format=csv); audited with the format, the count and whether mobiles showed."""
    segment = _segment(segment_id)
    fmt = requested_format(request.args.get("format"))
    rows = exports.rows(segment, _show_mobile())
    with transaction():
        record("segments.exported", target=f"segment:{segment.id}",
               details={"name": segment.name, "format": fmt, "rows": len(rows),
                        "mobiles": "shown" if _show_mobile() else "masked"})
    return table_response(fmt, exports.header(), rows, f"segment-{segment.id}", segment.name)
