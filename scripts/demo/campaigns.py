"""The demo's pushes: a newcomer offer sent at once and a weekly member-day push awaiting the supervisor."""
from __future__ import annotations

from sqlalchemy import select

from app.campaigns.approval import approvals
from app.campaigns.editor import editing
from app.campaigns.models import Campaign
from app.extensions import db

NOT_LOST = {"field": "lost", "operator": "is", "value": False}
COUPON = {"msgtype": "link", "link": {"title": "首单立减 20 元券", "url": "https://shop.example.com/newcomer",
                                      "desc": "7 天内有效，全场茶叶可用"}}
DEMO_CAMPAIGNS = (
    {"name": "新客首单礼", "category": "promotion", "chat_type": "single",
     "audience_rule": {"op": "and", "rules": [{"field": "added", "operator": "within", "value": {"days": 30}},
                                              {"field": "last_order", "operator": "never", "value": None},
                                              NOT_LOST]},
     "content": {"text": "您好，我是{员工姓名}。送您一张首单立减 20 元券，7 天内有效～",
                 "attachments": [COUPON]},
     "holdout_percent": 10, "attribution_days": 7, "schedule": {"kind": "now"}},
    {"name": "每周六会员日", "category": "promotion", "chat_type": "single",
     "audience_rule": {"op": "and", "rules": [NOT_LOST]},
     "content": {"text": "本周六会员日：全场茶叶 9 折，老客户到店再送一泡当季新茶。", "attachments": []},
     "holdout_percent": 5, "attribution_days": 3,
     "schedule": {"kind": "weekly", "time_of_day": "10:00", "weekdays": [5]}},
)


def seed_demo_campaigns(actor: str) -> list[Campaign]:
    """Create and submit the demo pushes once, as `actor` would in the editor; once their recipients are counted
    (in the background), the small one is approved automatically and sent, the large one awaits approval."""
    if db.session.scalar(select(Campaign.id).limit(1)) is not None:
        return []
    campaigns = [editing.save(None, spec, actor) for spec in DEMO_CAMPAIGNS]
    for campaign in campaigns:
        approvals.submit(campaign, actor)
    return campaigns
