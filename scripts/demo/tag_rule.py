"""The demo's example rule: customers who spent at least 1,000 yuan in the last 90 days carry 「高价值客户」."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.tags import catalog, presets, rule_admin
from app.tags.models import CorpTag, CorpTagGroup

GROUP, TAG, RULE = "规则标签", "高价值客户", "近 90 天消费满 1000 元"


def seed_example_rule() -> None:
    """Create the tag in WeCom (the emulator) and the rule, enabled; it runs after every RFM recompute (the demo
    starts the first one)."""
    tag_id = db.session.scalar(select(CorpTag.tag_id).join(CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id)
                               .where(CorpTagGroup.name == GROUP, CorpTag.name == TAG, CorpTag.deleted_at.is_(None)))
    if tag_id is None:
        catalog.create_group(GROUP, [TAG])
        tag_id = db.session.scalar(select(CorpTag.tag_id).where(CorpTag.name == TAG, CorpTag.deleted_at.is_(None)))
    rule = presets.build(presets.SPENT, {"spent_days": "90", "spent_yuan": "1000"})
    rule_admin.save(None, RULE, tag_id, rule, True, "demo")
