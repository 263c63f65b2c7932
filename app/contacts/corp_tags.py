"""Corp tag groups and tags exactly as WeCom reports them (the tags capability builds on these)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import true

from app.contacts.merge import Counts, from_epoch, merge
from app.contacts.models import CorpTag, CorpTagGroup
from app.wecom.gateway import WeComGateway


def sync_corp_tags(gw: WeComGateway, now: datetime) -> dict[str, Counts]:
    """Fetch all tag groups with their tags and merge them; groups and tags WeCom no longer has are marked deleted."""
    groups = gw.get_corp_tag_list()
    group_rows = [{"group_id": g["group_id"], "name": g.get("group_name", ""), "order": g.get("order") or 0,
                   "created_at": from_epoch(g.get("create_time")), "deleted_at": None} for g in groups]
    tag_rows = [{"tag_id": t["id"], "group_id": g["group_id"], "name": t.get("name", ""),
                 "order": t.get("order") or 0, "created_at": from_epoch(t.get("create_time")), "deleted_at": None}
                for g in groups for t in g.get("tag") or []]
    return {"tag_groups": merge(CorpTagGroup, ("group_id",), group_rows, true(),
                                removed_col="deleted_at", now=now),
            "tags": merge(CorpTag, ("tag_id",), tag_rows, true(), removed_col="deleted_at", now=now)}
