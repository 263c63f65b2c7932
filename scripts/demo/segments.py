"""The demo's saved segments: three an operator would build first, over RFM, orders, channel and activity."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.segments import service
from app.segments.models import Segment

DEMO_SEGMENTS = (
    ("高价值活跃客户", "冠军与忠诚客户中，近 90 天消费满 1000 元的人：新品首发、会员日优先触达。",
     {"op": "and", "rules": [
         {"field": "rfm_segment", "operator": "in", "value": ["champions", "loyal"]},
         {"field": "order_amount", "operator": "between", "value": {"days": 90, "min": 100000}}]}),
    ("沉睡待唤醒", "高危流失、不能失去与沉睡客户，仍在跟进但 60 天没有下单：沉睡唤醒的对象。",
     {"op": "and", "rules": [
         {"field": "rfm_segment", "operator": "in", "value": ["at_risk", "cant_lose", "hibernating"]},
         {"field": "lost", "operator": "is", "value": False},
         {"field": "last_order", "operator": "not_within", "value": {"days": 60}}]}),
    ("新客未下单", "近 30 天新加的客户中，还没下过单或近 30 天买过茶具的：推首单券与茶叶搭配。",
     {"op": "and", "rules": [
         {"field": "added", "operator": "within", "value": {"days": 30}},
         {"field": "lost", "operator": "is", "value": False},
         {"op": "or", "rules": [
             {"field": "last_order", "operator": "never", "value": None},
             {"field": "category", "operator": "any", "value": {"days": 30, "categories": ["茶具"]}}]}]}),
)


def seed_demo_segments() -> int:
    """Create the demo segments once (not counted: RFM scores arrive with the first recompute, after this)."""
    if db.session.scalar(select(Segment.id).limit(1)) is not None:
        return 0
    for name, description, rule in DEMO_SEGMENTS:
        service.create_segment(name, description, rule, "demo", count_now=False)
    return len(DEMO_SEGMENTS)
