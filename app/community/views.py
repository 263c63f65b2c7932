"""社群运营 pages (blueprint `community`): join codes here; code_pages, welcome_pages and tier_pages add the rest."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.community import code_stats, codes
from app.community.figures import GROUP_CAPACITY, NEARLY_FULL
from app.community.models import TIERS, JoinCode
from app.contacts.models import CustomerGroup
from app.contacts.staff_labels import staff_labels
from app.core import edit_pages
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.wecom.connection import NotConfigured
from app.wecom.errors import WeComError

bp = Blueprint("community", __name__, url_prefix="/community", template_folder="templates")


def tier_choices() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in TIERS.items()]


@bp.get("/", endpoint="index")
@requires(P.COMMUNITY_MANAGE)
def code_list():
    rows = db.session.scalars(select(JoinCode).order_by(JoinCode.id.desc())).all()
    figures = code_stats.figures(rows)
    alerts = [c for c in rows if figures[c.id].fill.nearly_full]
    owners = staff_labels(g.owner for f in figures.values() for g in f.groups)
    return render_template("community/codes.html", rows=rows, figures=figures, alerts=alerts, owners=owners,
                           tiers=dict(tier_choices()), capacity=GROUP_CAPACITY, nearly=int(NEARLY_FULL * 100))


def _input() -> codes.CodeInput:
    form = request.form
    return codes.CodeInput(name=form.get("name", ""), state=form.get("state", "").strip(),
                           chat_ids=form.getlist("chat_ids"), auto_create_room=bool(form.get("auto_create_room")),
                           room_base_name=form.get("room_base_name", ""),
                           room_base_id=form.get("room_base_id", type=int), tier=form.get("tier") or None)


def _chosen(chat_ids: list[str]) -> list[tuple[str, str]]:
    names = dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name)
                                    .where(CustomerGroup.chat_id.in_(chat_ids))).all())
    return [(c, names.get(c) or c) for c in chat_ids]


@bp.route("/codes/new", methods=["GET", "POST"], endpoint="code_new")
@bp.route("/codes/<int:code_id>", methods=["GET", "POST"], endpoint="code_edit")
@requires(P.COMMUNITY_MANAGE)
def code_edit(code_id: int | None = None):
    code = db.session.get(JoinCode, code_id) if code_id else None
    if code_id and code is None:
        abort(404)
    if code:
        data = codes.CodeInput(code.name, code.state, list(code.chat_ids), code.auto_create_room,
                               code.room_base_name, code.room_base_id, code.tier)
    else:
        data = codes.CodeInput("", codes.new_state(), [], True, "", 1, request.args.get("tier") or None)
    errors: dict = {}
    if request.method == "POST":
        data = _input()
        saved, errors = edit_pages.save(code, lambda: codes.create(data, current_user.username),
                                        lambda c: codes.update(c, data), N_("群活码「%(name)s」已在企业微信创建"),
                                        N_("群活码「%(name)s」已保存到企业微信"))
        if saved:
            return redirect(url_for("community.code_edit", code_id=saved.id))
    figures = code_stats.figures([code]).get(code.id) if code else None
    owners = staff_labels(g.owner for g in figures.groups) if figures else {}
    return render_template("community/code_edit.html", code=code, data=data, errors=errors,
                           chosen=_chosen(data.chat_ids), tiers=tier_choices(), figures=figures, owners=owners,
                           capacity=GROUP_CAPACITY)


@bp.get("/codes/<int:code_id>/poster", endpoint="code_poster")
@requires(P.COMMUNITY_MANAGE)
def code_poster(code_id: int):
    code = db.session.get(JoinCode, code_id) or abort(404)
    return render_template("community/code_poster.html", code=code)


@bp.post("/codes/<int:code_id>/refresh", endpoint="code_refresh")
@requires(P.COMMUNITY_MANAGE)
def code_refresh(code_id: int):
    code = db.session.get(JoinCode, code_id) or abort(404)
    try:
        codes.refresh(code)
        flash(_("已从企业微信读取群活码的二维码和群"), "success")
    except (WeComError, NotConfigured) as exc:
        edit_pages.refused(exc)
    return redirect(url_for("community.code_edit", code_id=code_id))


@bp.post("/codes/<int:code_id>/delete", endpoint="code_delete")
@requires(P.COMMUNITY_MANAGE)
def code_delete(code_id: int):
    code = db.session.get(JoinCode, code_id) or abort(404)
    return edit_pages.delete(code, lambda: codes.delete(code), N_("群活码「%(name)s」已删除（二维码随之失效；已入群的成员不受影响）"),
                             url_for("community.index"), url_for("community.code_edit", code_id=code_id))


from app.community import (activity_pages, group_bulk, review_pages, tier_pages,  # noqa: E402,F401  (their pages,
                           welcome_pages)  # noqa: E402,F401  (... on this blueprint)
from app.community.sop import pages as sop_pages  # noqa: E402,F401  (群SOP / 群日历, on this blueprint too)
