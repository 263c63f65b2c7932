"""Tag groups a job keeps (RFM分层, RFM八类, 生命周期): ensured in WeCom with every tag, in the caller's order."""
from __future__ import annotations

from typing import Mapping, Sequence

from app.core.db import transaction, utcnow
from app.tags.sync import sync_corp_tags
from app.wecom.gateway import WeComGateway


def ensure_groups(gw: WeComGateway, groups: Sequence[tuple[str, Mapping[str, str]]]) -> list[dict[str, str]]:
    """For each (group name, {key: tag name}), the tag id of every key, creating the group and any missing tag in
    WeCom; when anything was created, the console's copy of WeCom's tags learns it at once (not at the next sync)."""
    existing = gw.get_corp_tag_list()
    result: list[dict[str, str]] = []
    created = False
    for group_name, labels in groups:
        group = next((g for g in existing if g.get("group_name") == group_name), None)
        by_name = {t["name"]: t["id"] for t in (group or {}).get("tag") or []}
        missing = [(i, label) for i, label in enumerate(labels.values()) if label not in by_name]
        if missing:  # a larger order sorts first in WeCom: keep the caller's order
            tags = [{"name": label, "order": len(labels) - i} for i, label in missing]
            made = (gw.add_corp_tag(tags, group_id=group["group_id"]) if group
                    else gw.add_corp_tag(tags, group_name=group_name))
            by_name.update({t["name"]: t["id"] for t in made.get("tag") or []})
            created = True
        result.append({key: by_name[label] for key, label in labels.items()})
    if created:
        with transaction():
            sync_corp_tags(gw, utcnow())
    return result
