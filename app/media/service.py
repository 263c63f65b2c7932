"""Library use cases: add (checked against WeCom's limits), delete unless in use, search, and `media_id_for`: a
WeCom media_id valid for a while yet, uploading the kept file again when the 3-day id is missing or nearly over."""
from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import or_, select

from app.core import content
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.media import limits
from app.media.limits import MediaInvalid
from app.media.models import MediaBlob, MediaItem
from app.wecom.connection import NotConfigured, gateway
from app.wecom.errors import WeComError

log = logging.getLogger("scrm.media")
MARGIN = timedelta(hours=1)      # an id with less than this left is uploaded again before use
AHEAD = timedelta(days=1)        # the periodic refresh renews ids expiring within this
PAGE_SIZE = 60


@dataclass(frozen=True)
class LibraryUser:
    """A feature that attaches library media: its name (a msgid), what uses an item (names), every item it uses."""

    label: str
    users_of: Callable[[int], list[str]]
    items_in_use: Callable[[], set[int]]


_USERS: list[LibraryUser] = []


def register_user(user: LibraryUser) -> None:
    _USERS.append(user)


class MediaMissing(LookupError):
    """A message names a library item that no longer exists."""


def add(kind: str, name: str, filename: str, data: bytes, uploaded_by: str) -> MediaItem:
    """Keep an uploaded file; MediaInvalid (nothing stored) when WeCom would refuse it or it is already here."""
    found_type = limits.check(kind, data)
    if kind == "file":
        found_type = mimetypes.guess_type(filename)[0] or found_type
    digest = hashlib.sha256(data).hexdigest()
    twin = db.session.scalar(select(MediaItem.name).where(MediaItem.sha256 == digest, MediaItem.kind == kind))
    if twin:
        raise MediaInvalid(N_("这个文件已在素材库里：「%(name)s」"), {"name": twin})
    name = (name or "").strip() or filename or digest[:12]
    with transaction():
        item = MediaItem(name=name[:128], kind=kind, filename=(filename or name)[:255], content_type=found_type,
                         size=len(data), sha256=digest, uploaded_by=uploaded_by[:64])
        db.session.add(item)
        db.session.flush()
        db.session.add(MediaBlob(item_id=item.id, data=data))
        record("media.added", target=f"{item.name}#{item.id}", details={"kind": kind, "size": len(data)})
    return item


def delete(item: MediaItem) -> None:
    """Delete an item nothing uses (MediaInvalid names the users otherwise)."""
    users = [(user.label, name) for user in _USERS for name in user.users_of(item.id)]
    if users:
        label, name = users[0]
        raise MediaInvalid(N_("%(label)s「%(name)s」等 %(n)s 处还在使用这个素材，请先把它从中移除"),
                           {"label": label, "name": name, "n": len(users)})
    with transaction():
        record("media.deleted", target=f"{item.name}#{item.id}")
        db.session.delete(db.session.get(MediaBlob, item.id))
        db.session.delete(item)


def search(query: str = "", kind: str = "", page: int = 1):
    """The library newest first, by name or file name and kind, a page at a time."""
    stmt = select(MediaItem).order_by(MediaItem.uploaded_at.desc(), MediaItem.id.desc())
    if kind:
        stmt = stmt.where(MediaItem.kind == kind)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(MediaItem.name.ilike(like), MediaItem.filename.ilike(like)))
    return db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)


def attachable(kinds: tuple[str, ...] = content.LIBRARY_KINDS) -> list[MediaItem]:
    """The items an editor offers to attach (by kind, then name)."""
    return list(db.session.scalars(select(MediaItem).where(MediaItem.kind.in_(kinds))
                                   .order_by(MediaItem.kind, MediaItem.name)))


def data_of(item: MediaItem) -> bytes:
    return db.session.get(MediaBlob, item.id).data


def library_errors(attachments: list[dict[str, Any]]) -> list[content.ContentError]:
    """Library attachments must name existing items of their kind, and library covers existing images."""
    wanted = {i: a["msgtype"] for a in attachments if (i := content.library_id(a)) is not None}
    covers = {i for i in map(content.cover_id, attachments) if i is not None}
    kinds = dict(db.session.execute(select(MediaItem.id, MediaItem.kind)
                                    .where(MediaItem.id.in_(set(wanted) | covers))).all())
    wanted.update({i: "image" for i in covers})
    return [content.ContentError("library", N_("素材库里已没有所选的素材（编号 %(id)s），请重新选择"), {"id": i})
            for i, kind in sorted(wanted.items()) if kinds.get(i) != kind]


def fresh(item: MediaItem, now: datetime | None = None, margin: timedelta = MARGIN) -> bool:
    """Whether the item's media_id still has more than `margin` to live."""
    return bool(item.media_id and item.media_expires_at and item.media_expires_at - (now or utcnow()) > margin)


def media_id_for(item: MediaItem) -> str:
    """A media_id WeCom accepts now: the stored one while fresh, else uploaded again (the item is changed in the
    caller's transaction; WeComError / NotConfigured when the upload fails)."""
    return item.media_id if fresh(item) else upload(item)


def upload(item: MediaItem) -> str:
    """Upload the kept file to WeCom and remember the new media_id with its expiry (in the caller's transaction)."""
    started = utcnow()
    answer = gateway().upload_media(item.kind, item.filename, data_of(item))
    # 3 days from WeCom's created_at, or from our start when WeCom's clock is behind ours (the earlier one).
    created = datetime.fromtimestamp(int(answer.get("created_at") or started.timestamp()), started.tzinfo)
    item.media_id = answer["media_id"]
    item.media_expires_at = min(started, created) + timedelta(seconds=limits.MEDIA_LIFE_SECONDS)
    log.info("media %s uploaded to WeCom as %s", item.id, item.media_id)
    return item.media_id


def permanent_url(item: MediaItem) -> str:
    """A permanent URL of an image (link covers, image links): uploaded once with media/uploadimg (1,000 a day and
    3,000 a month per corp), then kept. MediaInvalid for a non-image or one over 2 MB; WeComError from WeCom."""
    if item.image_url:
        return item.image_url
    if item.kind != "image" or item.size > limits.MAX_URL_IMAGE_BYTES:
        raise MediaInvalid(N_("只有 %(max)s MB 以内的图片能换成长期链接（企业微信的限制）"),
                           {"max": limits.MAX_URL_IMAGE_BYTES // limits.MB})
    url = gateway().upload_image(item.filename, data_of(item))
    with transaction():
        item.image_url = url
        record("media.image_url", target=f"{item.name}#{item.id}")
    return url


def resolve(attachments: list[dict[str, Any]], renew: bool = False) -> list[dict[str, Any]]:
    """The attachments with every library item replaced by a media_id valid now (see `media_id_for`; `renew`:
    uploaded again whatever we hold), a mini program's library cover by its media_id and a link's by its permanent
    URL (`permanent_url`); the hot path of a send: ids renewed ahead (`refresh`) are only read.
    MediaMissing when an item was deleted."""
    wanted = set(content.library_ids(attachments))
    if not wanted:
        return attachments
    items = {item.id: item for item in db.session.scalars(select(MediaItem).where(MediaItem.id.in_(wanted)))}
    if missing := wanted - set(items):
        raise MediaMissing(f"media library items {sorted(missing)} no longer exist")

    def media_id(item_id: int) -> str:
        return upload(items[item_id]) if renew else media_id_for(items[item_id])

    resolved = []
    for attachment in attachments:
        kind = attachment["msgtype"]
        if (item_id := content.library_id(attachment)) is not None:
            attachment = {"msgtype": kind, kind: {"media_id": media_id(item_id)}}
        elif (item_id := content.cover_id(attachment)) is not None:
            field, key = content.COVERS[kind]
            obj = {k: v for k, v in attachment[kind].items() if k != key}
            obj[field] = media_id(item_id) if kind == "miniprogram" else permanent_url(items[item_id])
            attachment = {"msgtype": kind, kind: obj}
        resolved.append(attachment)
    return resolved


def resolve_for_send(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`resolve` for a sender outside any transaction (the push dispatcher): an id uploaded again is kept at once."""
    if not content.library_ids(attachments):
        return attachments
    with transaction():
        return resolve(attachments)


def refresh_in_use() -> int:
    """The periodic job: renew the media_ids of every item a feature uses that expire within a day."""
    in_use = set().union(*(user.items_in_use() for user in _USERS))
    uploaded = refresh(in_use) if in_use else 0
    if uploaded:
        log.info("renewed %d WeCom media_ids", uploaded)
    return uploaded


def refresh(item_ids: Iterable[int], ahead: timedelta = AHEAD) -> int:
    """Upload again those of the items whose media_id is missing or expires within `ahead`; one transaction per
    item, so one failure leaves the others renewed. Returns how many were uploaded."""
    stmt = select(MediaItem.id).where(MediaItem.id.in_(list(item_ids)), or_(
        MediaItem.media_expires_at.is_(None), MediaItem.media_expires_at < utcnow() + ahead))
    uploaded = 0
    for item_id in db.session.scalars(stmt).all():
        try:
            with transaction():
                item = db.session.get(MediaItem, item_id)
                if item is not None and not fresh(item, margin=ahead):
                    upload(item)
                    uploaded += 1
        except (WeComError, NotConfigured) as exc:
            log.warning("media %s not refreshed: %s", item_id, exc)
    return uploaded
