"""入群欢迎语: templates kept in WeCom (group_welcome_template/add|edit|del) and here, with the tier they serve.

WeCom's limits (wecom-api.md §13): at most 100 templates per corp, text ≤3000 bytes with %NICKNAME% for the new
member's nickname, at most one attachment (here: an image, video or file from the media library). Which template a
group uses is chosen by its owner in the WeCom client: binding by API is UNCONFIRMED and believed impossible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.core import content
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.community.models import TIERS, GroupWelcome
from app.media import service as media
from app.wecom.connection import gateway
from app.wordlist import service as wordlist

MAX_TEMPLATES = 100
MAX_TEXT_BYTES = 3000
NICKNAME = "%NICKNAME%"


class WelcomeInvalid(ValueError):
    def __init__(self, errors: list[content.ContentError]):
        self.errors = errors
        super().__init__("; ".join(e.text() for e in errors))


@dataclass
class WelcomeInput:
    name: str
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    tier: str | None = None
    notify: bool = True


def _validate(data: WelcomeInput, template: GroupWelcome | None) -> content.Content:
    errors: list[content.ContentError] = []
    if not data.name.strip() or len(data.name) > 64:
        errors.append(content.ContentError("name", N_("请填写名称（最多 64 个字）")))
    if data.tier is not None and data.tier not in TIERS:
        errors.append(content.ContentError("tier", N_("请选择群分层")))
    if template is None and (db.session.scalar(select(func.count()).select_from(GroupWelcome)) or 0) >= MAX_TEMPLATES:
        errors.append(content.ContentError("name", N_("企业微信最多保存 100 条入群欢迎语，请先删除不用的")))
    if len(data.attachments) > 1:
        errors.append(content.ContentError("attachments", N_("入群欢迎语最多一个附件")))
    if len(data.text.strip().encode()) > MAX_TEXT_BYTES:
        errors.append(content.ContentError("text", N_("文字最多 %(max)s 字节（约 1000 个汉字），现在 %(n)s 字节"),
                                           {"max": MAX_TEXT_BYTES, "n": len(data.text.strip().encode())}))
    message = None
    try:
        message = content.parse(data.text, data.attachments, offered={}, library=True)
    except content.ContentInvalid as exc:
        errors += exc.errors
    if message is not None:
        errors += [content.ContentError(where, wordlist.REFUSED, {"words": wordlist.named(hits)})
                   for where, hits in wordlist.content_hits(message.text, message.attachments).items()]
    errors += media.library_errors(data.attachments)
    if errors:
        raise WelcomeInvalid(errors)
    return message


def _wecom_content(message: content.Content) -> dict:
    """The template as WeCom takes it: text, and the attachment as a top-level object with a fresh media_id."""
    found: dict[str, Any] = {"text": {"content": message.text}} if message.text else {}
    for attachment in media.resolve(list(message.attachments)):
        found[attachment["msgtype"]] = attachment[attachment["msgtype"]]
    return found


def save(template: GroupWelcome | None, data: WelcomeInput) -> GroupWelcome:
    """Create (add) or change (edit, the whole content) the template in WeCom, then here; a template WeCom made is
    deleted again if keeping it here fails."""
    message = _validate(data, template)
    api = gateway()
    wecom = _wecom_content(message)
    made = None
    if template is None:
        made = api.add_group_welcome_template(wecom, data.notify)
    else:
        api.edit_group_welcome_template(template.template_id, wecom)
    try:
        with transaction():
            if template is None:
                template = GroupWelcome(template_id=made)
                db.session.add(template)
            template.name, template.tier = data.name.strip(), data.tier
            if made:  # notify only means something when WeCom is told of a new template
                template.notify = data.notify
            template.text, template.attachments = message.text, [dict(a) for a in message.attachments]
            template.updated_at = utcnow()
            db.session.flush()
            record("community.welcome_saved", target=f"{template.name}#{template.id}",
                   details={"template_id": template.template_id})
    except Exception:
        if made:
            api.del_group_welcome_template(made)
        raise
    return template


def delete(template: GroupWelcome) -> None:
    gateway().del_group_welcome_template(template.template_id)
    with transaction():
        record("community.welcome_deleted", target=f"{template.name}#{template.id}",
               details={"template_id": template.template_id})
        db.session.delete(template)


def _templates_using(item_id: int) -> list[str]:
    return [t.name for t in db.session.scalars(select(GroupWelcome)) if item_id in content.library_ids(t.attachments)]


media.register_user(media.LibraryUser(N_("入群欢迎语"), _templates_using, lambda: set()))
