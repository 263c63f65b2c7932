"""入群欢迎语 pages: the templates by tier, the editor (text with %NICKNAME%, one library attachment), delete."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.community import welcomes
from app.community.models import GroupWelcome
from app.community.views import bp, tier_choices
from app.core import content, edit_pages
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.media import service as media
from app.wecom.connection import NotConfigured
from app.wecom.errors import WeComError


@bp.get("/welcomes", endpoint="welcomes")
@requires(P.COMMUNITY_MANAGE)
def welcome_list():
    rows = db.session.scalars(select(GroupWelcome).order_by(GroupWelcome.tier, GroupWelcome.id)).all()
    return render_template("community/welcomes.html", rows=rows, tiers=dict(tier_choices()),
                           limit=welcomes.MAX_TEMPLATES)


def _input() -> welcomes.WelcomeInput:
    form = request.form
    return welcomes.WelcomeInput(name=form.get("name", ""), text=form.get("text", ""),
                                 attachments=content.library_from_form(form.getlist("library")),
                                 tier=form.get("tier") or None, notify=bool(form.get("notify")))


@bp.route("/welcomes/new", methods=["GET", "POST"], endpoint="welcome_new")
@bp.route("/welcomes/<int:welcome_id>", methods=["GET", "POST"], endpoint="welcome_edit")
@requires(P.COMMUNITY_MANAGE)
def welcome_edit(welcome_id: int | None = None):
    template = db.session.get(GroupWelcome, welcome_id) if welcome_id else None
    if welcome_id and template is None:
        abort(404)
    data = (welcomes.WelcomeInput(template.name, template.text, template.attachments, template.tier, template.notify)
            if template else welcomes.WelcomeInput("", _("欢迎 %NICKNAME% 入群！"), [], request.args.get("tier") or None))
    errors = []
    if request.method == "POST":
        data = _input()
        try:
            saved = welcomes.save(template, data)
            flash(_("入群欢迎语「%(name)s」已保存到企业微信", name=saved.name), "success")
            return redirect(url_for("community.welcomes"))
        except (welcomes.WelcomeInvalid, content.ContentInvalid) as exc:
            errors = exc.errors
        except (WeComError, NotConfigured, media.MediaMissing) as exc:
            edit_pages.refused(exc)
    return render_template("community/welcome_edit.html", template=template, data=data, errors=errors,
                           tiers=tier_choices(), library=media.attachable(),
                           picked=[content.library_id(a) for a in data.attachments if content.library_id(a)],
                           max_bytes=welcomes.MAX_TEXT_BYTES)


@bp.post("/welcomes/<int:welcome_id>/delete", endpoint="welcome_delete")
@requires(P.COMMUNITY_MANAGE)
def welcome_delete(welcome_id: int):
    template = db.session.get(GroupWelcome, welcome_id) or abort(404)
    return edit_pages.delete(template, lambda: welcomes.delete(template), N_("入群欢迎语「%(name)s」已删除"),
                             url_for("community.welcomes"), url_for("community.welcome_edit", welcome_id=welcome_id))
