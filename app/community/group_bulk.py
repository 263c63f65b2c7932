"""Bulk actions on the groups ticked in the group list: 设置分层, a group push pre-filled with them in the push
editor, 应用SOP / 移出SOP (groups added to a 群SOP by hand, after choosing it and confirming), and the selection
exported to Excel; each acts only on ticked groups the account may see."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.community.models import TIERS
from app.community.sop import reach
from app.community.sop.models import GroupSop
from app.community import tiers
from app.community.views import bp, tier_choices
from app.contacts.group_pages import member_counts
from app.contacts.models import CustomerGroup
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core.audit import record
from app.core.db import transaction
from app.core.export import COUNT, table_response
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db


def _back() -> str:
    back = request.form.get("next") or ""
    return back if back.startswith("/") and not back.startswith("//") else url_for("contacts.groups")


def _selected() -> list[CustomerGroup]:
    """The ticked groups the account may see, in the list's order (newest first)."""
    chosen = set(request.form.getlist("chat_ids"))
    return list(db.session.scalars(select(CustomerGroup).where(
        CustomerGroup.chat_id.in_(chosen), scope_for(current_user).staff_filter(CustomerGroup.owner))
        .order_by(CustomerGroup.created_at.desc(), CustomerGroup.id.desc()))) if chosen else []


def _none_ticked():
    flash(_("请至少勾选一个客户群"), "danger")
    return redirect(_back())


@bp.post("/tiers/set", endpoint="tier_set")
@requires(P.COMMUNITY_MANAGE)
def tier_set():
    """Give the ticked groups a tier (or none); all or nothing, and only when the account may see every one of them."""
    if len(_selected()) < len(set(request.form.getlist("chat_ids"))):
        flash(_("有的客户群不存在或不在你的可见范围内，没有修改任何群"), "danger")
        return redirect(_back())
    try:
        n = tiers.set_tier(request.form.getlist("chat_ids"), request.form.get("tier") or None, current_user.username)
    except tiers.TierInvalid as exc:
        flash(_(str(exc)), "danger")
    else:
        flash(_("已为 %(n)s 个客户群设置分层", n=n), "success")
    return redirect(_back())


@bp.post("/groups/push", endpoint="groups_push")
@requires(P.COMMUNITY_MANAGE)
def groups_push():
    """The push editor, a group push to the ticked groups filled in; nothing is saved until the editor saves."""
    if not (groups := _selected()):
        return _none_ticked()
    return redirect(url_for("campaigns.new", chat_type="group", chat_ids=[g.chat_id for g in groups]))


@bp.post("/groups/sop", endpoint="groups_sop")
@requires(P.COMMUNITY_MANAGE)
def groups_sop():
    """应用SOP / 移出SOP, step two: choose the SOP for the ticked groups and confirm; nothing changes here."""
    if not (groups := _selected()):
        return _none_ticked()
    action = "remove" if request.form.get("action") == "remove" else "apply"
    sops = db.session.scalars(select(GroupSop).order_by(GroupSop.paused, GroupSop.tier, GroupSop.name)).all()
    return render_template("community/groups_sop.html", groups=groups, action=action, sops=sops, back=_back(),
                           tiers=dict(tier_choices()), group_tiers=tiers.tiers_of([g.chat_id for g in groups]))


def _ticked_and_sop():
    """(groups, SOP) of the form, or a redirect saying which of the two is missing."""
    if not (groups := _selected()):
        return None, None, _none_ticked()
    if (sop := db.session.get(GroupSop, request.form.get("sop_id", type=int) or 0)) is None:
        flash(_("请选择群SOP"), "danger")
        return None, None, redirect(_back())
    return groups, sop, None


@bp.post("/groups/sop/apply", endpoint="groups_sop_apply")
@requires(P.COMMUNITY_MANAGE)
def groups_sop_apply():
    """Add the ticked groups to the chosen SOP by hand; the flash says how many were added and already in it."""
    groups, sop, refused = _ticked_and_sop()
    if refused:
        return refused
    done = reach.add(sop, groups, current_user.username)
    parts = [_("「%(name)s」新加入 %(added)s 个群，%(already)s 个群原已在其中", name=sop.name, added=done.added,
               already=done.already)]
    if done.dismissed:
        parts.append(_("%(n)s 个群已解散，未加入", n=done.dismissed))
    if sop.paused:
        parts.append(_("该SOP已暂停，恢复后才会执行"))
    flash("；".join(parts), "success" if done.added else "info")
    return redirect(_back())


@bp.post("/groups/sop/remove", endpoint="groups_sop_remove")
@requires(P.COMMUNITY_MANAGE)
def groups_sop_remove():
    """Take the ticked groups that were added by hand out of the chosen SOP; a tier's groups stay (the flash says)."""
    groups, sop, refused = _ticked_and_sop()
    if refused:
        return refused
    done = reach.remove(sop, groups)
    parts = [_("已从「%(name)s」移出 %(n)s 个手动加入的群", name=sop.name, n=done.removed)]
    if done.tiered:
        parts.append(_("%(n)s 个群因分层属于该SOP，需改分层", n=done.tiered))
    if done.not_in:
        parts.append(_("%(n)s 个群本不在该SOP中", n=done.not_in))
    flash("；".join(parts), "success" if done.removed else "warning")
    return redirect(_back())


def _rows(groups: list[CustomerGroup]) -> list[list]:
    ids = [g.chat_id for g in groups]
    counts, tier_of = member_counts(ids), tiers.tiers_of(ids)
    owners = staff_labels(g.owner for g in groups)
    return [[g.name, g.chat_id, _(TIERS[tier_of[g.chat_id]]) if g.chat_id in tier_of else "",
             owners.get(g.owner, g.owner), *counts.get(g.chat_id, (0, 0)), g.created_at] for g in groups]


@bp.post("/groups/export", endpoint="groups_export")
@requires(P.COMMUNITY_MANAGE)
def groups_export():
    """The ticked groups as an Excel sheet (member counts as numbers); audited."""
    if not (groups := _selected()):
        return _none_ticked()
    rows = _rows(groups)
    with transaction():
        record("community.groups_exported", details={"groups": len(rows)})
    header = [_("群名称"), _("群ID"), _("分层"), _("群主"), _("成员数"), _("其中客户"), _("创建时间")]
    return table_response("xlsx", header, rows, "groups", _("客户群"), [None] * 4 + [COUNT, COUNT])
