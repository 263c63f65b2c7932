"""Welcome pages (blueprint `welcome`): the report, templates with preview; channel_pages.py adds the channels."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_babel import gettext as _
from sqlalchemy import select

from app.community.models import TIERS, JoinCode
from app.contacts.contact_list import staff_names
from app.contacts.models import Staff
from app import jobs
from app.core import content
from app.core.export import csv_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.media import service as media
from app.media.views import preview_attachment
from app.welcome import messages, report
from app.welcome.handlers import (AWAITING_CONSENT, EXPIRED, INTERRUPTED, NO_CODE, NO_CODE_HALF, NO_CODE_PARTNER,
                                  NO_TEMPLATE)
from app.welcome.models import OUTCOME_LABELS, RECORD_SCOPE_LABELS, SCOPE_LABELS, SCOPE_STAFF, Channel, WelcomeTemplate

bp = Blueprint("welcome", __name__, url_prefix="/welcome", template_folder="templates")
REASON_LABELS = {
    NO_CODE: N_("没有 WelcomeCode：企业微信管理后台已为该员工配置欢迎语，或客户与员工聊过天"),
    NO_CODE_PARTNER: N_("没有 WelcomeCode：对方是企业微信用户（合作伙伴），企业微信会向其发送名片"),
    NO_CODE_HALF: N_("没有 WelcomeCode：欢迎语已随客户免验证添加时发送，不再重复发送"),
    NO_TEMPLATE: N_("没有适用的欢迎语（未设置默认欢迎语）"),
    INTERRUPTED: N_("发送过程中断，为避免重复发送未再重试"),
    EXPIRED: N_("排队超过 20 秒，企业微信已不再接受，未调用接口"),
    AWAITING_CONSENT: N_("客户尚未同意会话存档（41053）：客户同意后自动补发"),
}


def _days() -> int:
    days = request.args.get("days", 7, type=int)
    return days if days in report.PERIODS else 7


@bp.get("/", endpoint="index")
@requires(P.WELCOME_MANAGE)
def index():
    days = _days()
    data = report.build(days)
    page = report.recent_records(data.since, request.args.get("page", 1, type=int))
    channels = dict(db.session.execute(select(Channel.id, Channel.name)).all())
    people = staff_names(r.userid for r in page.items)
    templates = dict(db.session.execute(select(WelcomeTemplate.id, WelcomeTemplate.name)).all())
    return render_template("welcome/index.html", data=data, days=days, periods=report.PERIODS, page=page,
                           channels=channels, people=people, templates=templates, outcomes=report.OUTCOMES,
                           outcome_labels=OUTCOME_LABELS, scope_labels=RECORD_SCOPE_LABELS, reason_labels=REASON_LABELS,
                           buckets=report.bucket_labels())


@bp.get("/records.csv", endpoint="export")
@requires(P.WELCOME_MANAGE)
def export():
    days = _days()
    channels = dict(db.session.execute(select(Channel.id, Channel.name)).all())
    header = [_("收到事件"), _("员工"), _("客户"), _("渠道"), _("state"), _("结果"), _("错误码"), _("耗时(ms)"), _("说明")]
    rows = ([r.received_at, r.userid, r.external_userid, channels.get(r.channel_id, ""), r.state,
             _(OUTCOME_LABELS[r.outcome]), r.errcode, r.latency_ms,
             _(REASON_LABELS[r.reason]) if r.reason in REASON_LABELS else r.reason]
            for r in report.export_rows(report.period_start(days)))
    return csv_response(header, rows, f"welcome-{days}d.csv")


def _staff_choices() -> list[tuple[str, str]]:
    return db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.is_follow_user.is_(True), Staff.removed_at.is_(None)).order_by(Staff.name)).all()


@bp.get("/templates", endpoint="templates")
@requires(P.WELCOME_MANAGE)
def templates():
    rows = db.session.scalars(select(WelcomeTemplate).order_by(WelcomeTemplate.scope, WelcomeTemplate.id)).all()
    used = {t.id: messages.users_of(t) for t in rows}
    people = staff_names(u for t in rows for u in t.userids)
    return render_template("welcome/templates.html", rows=rows, used=used, people=people, scope_labels=SCOPE_LABELS)


# The welcome editor types no media_id: images, videos and files come from the media library (below the editor).
EDITOR_KINDS = content.KINDS
EDITOR_FIELDS = {**content.FIELDS, "image": tuple(f for f in content.FIELDS["image"] if f[0] != "media_id"),
                 "miniprogram": tuple(f for f in content.FIELDS["miniprogram"] if f[0] != "pic_media_id")}


def _template_input() -> messages.TemplateInput:
    """The form's content: the editor's attachments, then the picked library files (values "kind-id")."""
    text, attachments = content.from_form(request.form)
    attachments += content.library_from_form(request.form.getlist("library"))
    return messages.TemplateInput(name=request.form.get("name", ""), scope=request.form.get("scope", ""),
                                  text=text, attachments=attachments, userids=request.form.getlist("userids"),
                                  enabled=bool(request.form.get("enabled")),
                                  group_code_id=request.form.get("group_code_id", type=int))


def _group_codes() -> list[tuple[int, str, str | None, str]]:
    """The 群活码 a welcome can carry: (id, name, tier, state)."""
    return db.session.execute(select(JoinCode.id, JoinCode.name, JoinCode.tier, JoinCode.state)
                              .order_by(JoinCode.tier.is_(None), JoinCode.name)).all()


@bp.route("/templates/new", methods=["GET", "POST"], endpoint="template_new")
@bp.route("/templates/<int:template_id>", methods=["GET", "POST"], endpoint="template_edit")
@requires(P.WELCOME_MANAGE)
def template_edit(template_id: int | None = None):
    template = db.session.get(WelcomeTemplate, template_id) if template_id else None
    if template_id and template is None:
        abort(404)
    data = messages.TemplateInput(template.name, template.scope, template.text, template.attachments,
                                  template.userids, template.enabled, template.group_code_id) if template else \
        messages.TemplateInput("", request.args.get("scope", SCOPE_STAFF), "")
    errors, preview = [], None
    if request.method == "POST":
        data = _template_input()
        try:
            if request.form.get("action") == "preview":
                message = content.parse(data.text, data.attachments, library=True)
                text, attachments = content.render(message, content.SAMPLE_VALUES)
                code = db.session.get(JoinCode, data.group_code_id) if data.group_code_id else None
                preview = text, [preview_attachment(a) for a in attachments] + (code.qr_attachments() if code else [])
            else:
                saved = messages.save(template, data)
                if saved.enabled and messages.library_items(saved):  # media_ids ready before the first welcome
                    jobs.enqueue("welcome.refresh_media", {"template_id": saved.id},
                                 requested_by=current_user.username)
                flash(_("欢迎语「%(name)s」已保存", name=saved.name), "success")
                return redirect(url_for("welcome.templates"))
        except (messages.TemplateInvalid, content.ContentInvalid) as exc:
            errors = exc.errors
    editor = [a for a in data.attachments if content.library_id(a) is None]
    library = media.attachable()
    return render_template("welcome/template_edit.html", template=template, data=data, errors=errors,
                           preview=preview, staff=_staff_choices(), scope_labels=SCOPE_LABELS,
                           kinds=EDITOR_KINDS, fields=EDITOR_FIELDS, variables=content.VARIABLES,
                           samples=content.SAMPLE_VALUES, max_attachments=content.MAX_ATTACHMENTS,
                           editor_attachments=editor, library=library, covers=[i for i in library if i.kind == "image"],
                           picked=[content.library_id(a) for a in data.attachments if content.library_id(a)],
                           group_codes=_group_codes(), tier_labels=TIERS)


@bp.post("/templates/<int:template_id>/delete", endpoint="template_delete")
@requires(P.WELCOME_MANAGE)
def template_delete(template_id: int):
    template = db.session.get(WelcomeTemplate, template_id) or abort(404)
    try:
        messages.delete(template)
    except messages.TemplateInvalid as exc:
        flash(exc.errors[0].text(_), "danger")
    else:
        flash(_("欢迎语已删除"), "success")
    return redirect(url_for("welcome.templates"))


from app.welcome import channel_pages  # noqa: E402,F401  (the channel pages, on this blueprint)
