"""Ask for an app message to a staff member (`notify`), idempotent per purpose; what could not be sent (`undelivered`).

Every feature that tells staff something (a task, an alert, a referral reward to hand out) calls `notify` inside its
own transaction: the row commits with the feature's work, and the dispatcher (app/staffmsg/dispatch.py, a job the
scheduler starts every minute) sends it within our own per-member budget, so WeCom never drops one silently.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.db import utcnow
from app.extensions import db
from app.staffmsg.models import FAILED, INVALID_USER, KINDS, QUEUED, StaffMessage

# Sizes of message/send content (DOC 90236 as quoted by SDKs; wecom-api.md §13 does not give them): a textcard's
# title at most 128 bytes and description 512 bytes, a text or markdown content 2,048 bytes, a url 2,048 bytes.
TITLE_BYTES, CARD_BYTES, CONTENT_BYTES, URL_BYTES = 128, 512, 2048, 2048


def clip(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8 (a cut text ends with …)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes - 3].decode(errors="ignore") + "…"


def _clean(kind: str, title: str, body: str, url: str) -> tuple[str, str]:
    """Title and body within WeCom's sizes for `kind`; ValueError for what cannot be sent at all."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not body or (kind == "textcard" and (not title or not url)):
        raise ValueError("a textcard needs a title, a description and a url; text and markdown a body")
    if len(url.encode()) > URL_BYTES:
        raise ValueError(f"url longer than {URL_BYTES} bytes")
    if kind == "textcard":
        return clip(title, TITLE_BYTES), clip(body, CARD_BYTES)
    return "", clip(body, CONTENT_BYTES)


def notify(userid: str, purpose_key: str, title: str, body: str, *, url: str = "", kind: str = "textcard",
           feature: str = "", not_before: datetime | None = None) -> StaffMessage:
    """Queue one app message to staff member `userid`, once per `purpose_key` (e.g. "task:12:reminder"): asking
    again returns the first row unchanged. `url` is a console path ("/tasks/12") or an absolute URL; a console path
    is made absolute with the console's address when sent. `kind` is textcard (title, description and a link),
    text or markdown (`body` only). Not sent before `not_before` (default now). Added to the caller's session: it
    commits with the caller's transaction. Title and body longer than WeCom takes are cut (ending with …);
    ValueError when something needed is missing."""
    if not userid or not purpose_key or len(purpose_key) > 191:
        raise ValueError("userid and a purpose_key of at most 191 characters are required")
    title, body = _clean(kind, title, body, url)
    existing = db.session.scalar(select(StaffMessage).where(StaffMessage.purpose_key == purpose_key))
    if existing is not None:
        return existing
    message = StaffMessage(purpose_key=purpose_key, feature=feature[:32], userid=userid, kind=kind, title=title,
                           body=body, url=url, state=QUEUED, not_before=not_before or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # another process queued the same purpose between the check and the insert
        return db.session.scalar(select(StaffMessage).where(StaffMessage.purpose_key == purpose_key))
    return message


def undelivered(feature: str | None = None, limit: int = 200) -> list[StaffMessage]:
    """Messages WeCom will not show: the member unknown or outside the app (invalid_user) or given up (failed),
    newest first; optionally only one feature's."""
    query = select(StaffMessage).where(StaffMessage.state.in_((INVALID_USER, FAILED)))
    if feature:
        query = query.where(StaffMessage.feature == feature)
    return list(db.session.scalars(query.order_by(StaffMessage.id.desc()).limit(limit)))
