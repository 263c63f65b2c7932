"""Library use cases: add (checked against WeCom's limits), delete unless in use, search, and `media_id_for`: a
WeCom media_id valid for a while yet, uploading the kept file again when the 3-day id is missing or nearly over."""
from __future__ import annotations

import hashlib
import logging
import mimetypes
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import or_, select

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
LIBRARY_KINDS = tuple(limits.KINDS)
PAGE_SIZE = 60

# Callables `(item_id) -> [names of what uses it]`, registered by the features that attach library media.
_USERS: list[Callable[[int], list[str]]] = []


def register_user(users_of: Callable[[int], list[str]]) -> None:
    _USERS.append(users_of)


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
    users = [name for users_of in _USERS for name in users_of(item.id)]
    if users:
        raise MediaInvalid(N_("「%(what)s」还在使用这个素材，请先把它从中移除"), {"what": "」「".join(users)})
    with transaction():
        record("media.deleted", target=f"{item.name}#{item.id}")
        db.session.delete(db.session.get(MediaBlob, item.id))
        db.session.delete(item)


def search(query: str = "", kind: str = "", page: int = 1, kinds: Iterable[str] = LIBRARY_KINDS):
    stmt = select(MediaItem).where(MediaItem.kind.in_(list(kinds))).order_by(MediaItem.uploaded_at.desc(),
                                                                             MediaItem.id.desc())
    if kind:
        stmt = stmt.where(MediaItem.kind == kind)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(MediaItem.name.ilike(like), MediaItem.filename.ilike(like)))
    return db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)


def data_of(item: MediaItem) -> bytes:
    return db.session.get(MediaBlob, item.id).data


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


def refresh(item_ids: Iterable[int] | None = None, ahead: timedelta = AHEAD) -> int:
    """Upload again the items (all, or `item_ids`) whose media_id expires within `ahead`; one transaction per item,
    so one failure leaves the others renewed. Returns how many were uploaded."""
    stmt = select(MediaItem.id).where(or_(MediaItem.media_expires_at.is_(None),
                                          MediaItem.media_expires_at < utcnow() + ahead))
    if item_ids is not None:
        stmt = stmt.where(MediaItem.id.in_(list(item_ids)))
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
