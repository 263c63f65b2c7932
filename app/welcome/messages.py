"""Welcome templates: saved after validation (content limits, one default, a staff member in one template only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.community.models import JoinCode
from app.contacts.models import Staff
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.core import content
from app.media import service as media
from app.wordlist import service as wordlist
from app.welcome.models import SCOPE_DEFAULT, SCOPE_LABELS, SCOPE_STAFF, Channel, WelcomeTemplate


class TemplateInvalid(ValueError):
    def __init__(self, errors: list[content.ContentError]):
        self.errors = errors
        super().__init__("; ".join(e.text() for e in errors))


@dataclass
class TemplateInput:
    name: str
    scope: str
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    userids: list[str] = field(default_factory=list)
    enabled: bool = True
    group_code_id: int | None = None  # a 群活码 whose QR image follows the attachments


def _validate(data: TemplateInput, template: WelcomeTemplate | None) -> content.Content:
    errors: list[content.ContentError] = []
    own_id = template.id if template else -1
    if not data.name.strip() or len(data.name) > 64:
        errors.append(content.ContentError("name", N_("请填写名称（最多 64 个字）")))
    if data.scope not in SCOPE_LABELS:
        errors.append(content.ContentError("scope", N_("请选择欢迎语用于哪里")))
    if data.scope == SCOPE_STAFF:
        known = set(db.session.scalars(select(Staff.userid).where(Staff.userid.in_(data.userids))))
        if not data.userids or set(data.userids) - known:
            errors.append(content.ContentError("userids", N_("员工欢迎语至少选择一位员工")))
        for other in db.session.scalars(select(WelcomeTemplate).where(
                WelcomeTemplate.scope == SCOPE_STAFF, WelcomeTemplate.enabled.is_(True), WelcomeTemplate.id != own_id)):
            both = sorted(set(other.userids) & set(data.userids))
            if both and data.enabled:
                errors.append(content.ContentError("userids", N_("%(who)s 已在欢迎语「%(name)s」里，一位员工只能有一条员工欢迎语"),
                                                   {"who": "、".join(both), "name": other.name}))
    if data.scope == SCOPE_DEFAULT and data.enabled:
        other = db.session.scalar(select(WelcomeTemplate.name).where(
            WelcomeTemplate.scope == SCOPE_DEFAULT, WelcomeTemplate.enabled.is_(True), WelcomeTemplate.id != own_id))
        if other:
            errors.append(content.ContentError("scope", N_("已有启用的默认欢迎语「%(name)s」：先停用它"), {"name": other}))
    try:
        message = content.parse(data.text, data.attachments, library=True)
    except content.ContentInvalid as exc:
        errors += exc.errors
        message = None
    if message is not None:
        errors += [content.ContentError(where, wordlist.REFUSED, {"words": wordlist.named(hits)})
                   for where, hits in wordlist.content_hits(message.text, message.attachments).items()]
    errors += media.library_errors(data.attachments)
    errors += _group_code_errors(data)
    if errors:
        raise TemplateInvalid(errors)
    return message


def _group_code_errors(data: TemplateInput) -> list[content.ContentError]:
    """The group code exists and has a QR image, and its image fits beside the other attachments (WeCom: ≤ 9)."""
    if data.group_code_id is None:
        return []
    code = db.session.get(JoinCode, data.group_code_id)
    if code is None or not code.qr_code:
        return [content.ContentError("group_code_id", N_("群活码不存在或还没有二维码，请重新选择"))]
    if len(data.attachments) + 1 > content.MAX_ATTACHMENTS:
        return [content.ContentError("group_code_id", N_("群活码的二维码也算一个附件：最多 %(max)s 个，请减少一个附件"),
                                     {"max": content.MAX_ATTACHMENTS})]
    return []


def group_code_attachments(template: WelcomeTemplate) -> list[dict[str, Any]]:
    """The QR image of the template's group code (none without one): sent after the template's own attachments."""
    code = db.session.get(JoinCode, template.group_code_id) if template.group_code_id else None
    return code.qr_attachments() if code else []


def library_items(template: WelcomeTemplate) -> list[int]:
    return content.library_ids(template.attachments)


def _templates_using(item_id: int) -> list[str]:
    return [t.name for t in db.session.scalars(select(WelcomeTemplate))
            if item_id in library_items(t)]


def _items_in_use() -> set[int]:
    return {i for t in db.session.scalars(select(WelcomeTemplate).where(WelcomeTemplate.enabled.is_(True)))
            for i in library_items(t)}


media.register_user(media.LibraryUser(N_("欢迎语"), _templates_using, _items_in_use))


def refresh_media(template_id: int) -> None:
    """Renew the media_ids of a saved template's library items ahead of its first welcome (run off the web thread)."""
    template = db.session.get(WelcomeTemplate, template_id)
    if template is not None and template.enabled:
        media.refresh(library_items(template))


def save(template: WelcomeTemplate | None, data: TemplateInput) -> WelcomeTemplate:
    """Create (template None) or change a template; all-or-nothing."""
    message = _validate(data, template)
    with transaction():
        if template is None:
            template = WelcomeTemplate()
            db.session.add(template)
        template.name, template.scope, template.enabled = data.name.strip(), data.scope, data.enabled
        template.userids = sorted(set(data.userids)) if data.scope == SCOPE_STAFF else []
        template.text, template.attachments = message.text, [dict(a) for a in message.attachments]
        template.group_code_id = data.group_code_id
        template.updated_at = utcnow()
        db.session.flush()
        record("welcome.template_saved", target=f"{template.name}#{template.id}",
               details={"group_code_id": template.group_code_id} if template.group_code_id else None)
    return template


def users_of(template: WelcomeTemplate) -> int:
    return db.session.scalar(select(func.count()).where(Channel.template_id == template.id)) or 0


def delete(template: WelcomeTemplate) -> None:
    """Delete a template no channel uses (channels name it explicitly; they must pick another first)."""
    if users_of(template):
        raise TemplateInvalid([content.ContentError("template", N_("还有 %(n)s 个渠道在用这条欢迎语，请先给它们换一条"),
                                                    {"n": users_of(template)})])
    with transaction():
        record("welcome.template_deleted", target=f"{template.name}#{template.id}")
        db.session.delete(template)
