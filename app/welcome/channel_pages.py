"""Channel pages: the list with per-channel statistics, create/edit/delete through WeCom, import from WeCom."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import jobs
from app.contacts.contact_list import staff_names
from app.core import edit_pages
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.jobs import views as job_pages
from app.tags.models import CorpTag, CorpTagGroup
from app.tags.read_only import READ_ONLY_GROUPS
from app.welcome import channels
from app.welcome.models import Channel, WelcomeTemplate
from app.welcome.views import _staff_choices, bp

IMPORT = "welcome.channel_import"  # the job kind


@bp.get("/channels", endpoint="channels")
@requires(P.WELCOME_MANAGE)
def channel_list():
    rows = db.session.scalars(select(Channel).order_by(Channel.id.desc())).all()
    stats = channels.stats([c.state for c in rows if c.state])
    templates = dict(db.session.execute(select(WelcomeTemplate.id, WelcomeTemplate.name)).all())
    tags = dict(db.session.execute(select(CorpTag.tag_id, CorpTag.name)).all())
    people = staff_names(u for c in rows for u in c.userids)
    return render_template("welcome/channels.html", rows=rows, stats=stats, templates=templates, tags=tags,
                           people=people, import_job=jobs.latest(IMPORT), progress_of=jobs.progress_of)


def tag_choices() -> list[tuple[str, list]]:
    """Corp tags an operator may give, by group (the RFM and 生命周期 groups left out: only their jobs write them)."""
    groups = db.session.execute(select(CorpTagGroup.group_id, CorpTagGroup.name).where(
        CorpTagGroup.deleted_at.is_(None), CorpTagGroup.name.not_in(READ_ONLY_GROUPS)).order_by(CorpTagGroup.order, CorpTagGroup.name)).all()
    tags = db.session.execute(select(CorpTag.group_id, CorpTag.tag_id, CorpTag.name).where(
        CorpTag.deleted_at.is_(None)).order_by(CorpTag.order, CorpTag.name)).all()
    return [(name, [(t, n) for g, t, n in tags if g == gid]) for gid, name in groups]


def _input() -> channels.ChannelInput:
    form = request.form
    template_id = form.get("template_id", type=int)
    return channels.ChannelInput(name=form.get("name", ""), state=form.get("state", "").strip(),
                                 userids=form.getlist("userids"), skip_verify=bool(form.get("skip_verify")),
                                 tag_ids=form.getlist("tag_ids"), template_id=template_id or None)


@bp.route("/channels/new", methods=["GET", "POST"], endpoint="channel_new")
@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"], endpoint="channel_edit")
@requires(P.WELCOME_MANAGE)
def channel_edit(channel_id: int | None = None):
    channel = db.session.get(Channel, channel_id) if channel_id else None
    if channel_id and channel is None:
        abort(404)
    data = channels.ChannelInput(channel.name, channel.state or "", channel.userids, channel.skip_verify,
                                 channel.tag_ids, channel.template_id) if channel else \
        channels.ChannelInput("", channels.new_state(), [])
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = _input()
        saved, errors = edit_pages.save(channel, lambda: channels.create(data), lambda c: channels.update(c, data),
                                        N_("渠道活码「%(name)s」已在企业微信创建"), N_("渠道活码「%(name)s」已保存到企业微信"))
        if saved:
            return redirect(url_for("welcome.channel_edit", channel_id=saved.id))
    templates = db.session.execute(select(WelcomeTemplate.id, WelcomeTemplate.name, WelcomeTemplate.scope)
                                   .order_by(WelcomeTemplate.name)).all()
    stats = channels.stats([channel.state]).get(channel.state) if channel and channel.state else None
    return render_template("welcome/channel_edit.html", channel=channel, data=data, errors=errors,
                           staff=_staff_choices(), tag_groups=tag_choices(), templates=templates, stats=stats)


@bp.post("/channels/<int:channel_id>/delete", endpoint="channel_delete")
@requires(P.WELCOME_MANAGE)
def channel_delete(channel_id: int):
    channel = db.session.get(Channel, channel_id) or abort(404)
    return edit_pages.delete(channel, lambda: channels.delete(channel), N_("渠道活码「%(name)s」已删除（企业微信里的二维码随之失效）"),
                             url_for("welcome.channels"), url_for("welcome.channel_edit", channel_id=channel_id))


@bp.post("/channels/import", endpoint="channel_import")
@requires(P.WELCOME_MANAGE)
def channel_import():
    """The import runs in the worker (a first one reads every way WeCom lists); a second click while it waits or runs
    starts nothing and says so."""
    job_pages.start(IMPORT, {"started_by": current_user.username})
    return redirect(url_for("welcome.channels"))
