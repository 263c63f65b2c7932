"""The local copy of WeCom's corp tag groups and tags, fetched whole; a tag gone from WeCom leaves every relation."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import or_, select, true

from app.contacts.contact_list import has_tag
from app.contacts.merge import Counts, from_epoch, merge
from app.contacts.models import FollowRelation
from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup
from app.wecom.gateway import WeComGateway


def sync_corp_tags(gw: WeComGateway, now: datetime) -> dict[str, Counts]:
    """Fetch all tag groups with their tags and merge them; groups and tags WeCom no longer has are marked deleted
    and leave the relations that carried them."""
    groups = gw.get_corp_tag_list()
    group_rows = [{"group_id": g["group_id"], "name": g.get("group_name", ""), "order": g.get("order") or 0,
                   "created_at": from_epoch(g.get("create_time")), "deleted_at": None} for g in groups]
    tag_rows = [{"tag_id": t["id"], "group_id": g["group_id"], "name": t.get("name", ""),
                 "order": t.get("order") or 0, "created_at": from_epoch(t.get("create_time")), "deleted_at": None}
                for g in groups for t in g.get("tag") or []]
    live_before = set(db.session.scalars(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None))))
    counts = {"tag_groups": merge(CorpTagGroup, ("group_id",), group_rows, true(), removed_col="deleted_at", now=now),
              "tags": merge(CorpTag, ("tag_id",), tag_rows, true(), removed_col="deleted_at", now=now)}
    forget_tags(live_before - {row["tag_id"] for row in tag_rows})
    return counts


def forget_tags(tag_ids: Iterable[str]) -> None:
    """Take deleted tags off every relation still carrying them, as WeCom takes them off its customers."""
    gone = set(tag_ids)
    if not gone:
        return
    for relation in db.session.scalars(select(FollowRelation).where(or_(*(has_tag(t) for t in sorted(gone))))):
        relation.tag_ids = [t for t in relation.tag_ids or [] if t not in gone]
