"""Bulk actions on the groups ticked in the group list (besides 设置分层, tier_pages): a group push pre-filled with
them in the push editor, and the selection exported to Excel."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.community.models import TIERS
from app.community.tiers import tiers_of
from app.community.views import bp
from app.contacts.group_pages import member_counts
from app.contacts.models import CustomerGroup
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core import settings
from app.core.audit import record
from app.core.db import transaction
from app.core.export import table_response
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


@bp.post("/groups/push", endpoint="groups_push")
@requires(P.COMMUNITY_MANAGE)
def groups_push():
    """The push editor, a group push to the ticked groups filled in; nothing is saved until the editor saves."""
    if not (groups := _selected()):
        return _none_ticked()
    return redirect(url_for("campaigns.new", chat_type="group", chat_ids=[g.chat_id for g in groups]))


def _rows(groups: list[CustomerGroup]) -> list[list]:
    ids = [g.chat_id for g in groups]
    counts, tiers = member_counts(ids), tiers_of(ids)
    owners = staff_labels(g.owner for g in groups)
    zone = settings.corp_timezone()
    return [[g.name, g.chat_id, _(TIERS[tiers[g.chat_id]]) if g.chat_id in tiers else "",
             owners.get(g.owner, g.owner), *counts.get(g.chat_id, (0, 0)),
             g.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if g.created_at else ""] for g in groups]


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
    return table_response("xlsx", header, rows, "groups", _("客户群"))
