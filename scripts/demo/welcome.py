"""The demo's welcome set-up: a default, a staff and a channel template, a live-stream channel, WeCom's own ways."""
from __future__ import annotations

import requests
from sqlalchemy import select

from app.contacts.models import Staff

from app.extensions import db
from app.tags.models import CorpTag
from app.welcome import channels, messages
from app.welcome.models import Channel, WelcomeTemplate

LIVE_STATE = "live-1111"

GIFT = {"msgtype": "link", "link": {"title": "新人专享：首单立减 20 元", "url": "https://shop.example.com/newcomer",
                                    "desc": "7 天内有效，全场茶叶可用"}}


def seed_demo_welcome() -> int:
    """Create the demo's templates and channels once; the number of channels the console then knows."""
    if db.session.scalar(select(WelcomeTemplate.id).limit(1)) is not None:
        return 0
    followers = db.session.scalars(select(Staff.userid).where(Staff.is_follow_user.is_(True))
                                   .order_by(Staff.userid).limit(3)).all()
    messages.save(None, messages.TemplateInput(
        "默认欢迎语", "default", "{客户昵称}您好，我是{员工姓名}，很高兴认识您！有任何问题随时找我。", [GIFT]))
    if followers:
        messages.save(None, messages.TemplateInput(
            "店长欢迎语", "staff", "{客户昵称}您好，我是店长{员工姓名}。到店报我的名字，送一泡当季新茶。",
            userids=followers[:1]))
    live = messages.save(None, messages.TemplateInput(
        "直播间欢迎语", "channel", "感谢从直播间添加我！直播专享价今晚 24 点前有效，回复「清单」领取直播商品清单。", [GIFT]))
    imported = channels.import_from_wecom().added
    tags = db.session.scalars(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None)).order_by(CorpTag.tag_id)
                              .limit(1)).all()
    if followers:
        channels.create(channels.ChannelInput("双十一直播间", LIVE_STATE, followers, tag_ids=tags,
                                              template_id=live.id))
    return imported + bool(followers)


def simulate_live_adds(api_base: str, stop, every_seconds: float = 15.0) -> None:
    """Until `stop` is set: every `every_seconds` a new customer scans the demo's live-stream channel in the
    emulator, so the welcome path (callback, 20-second send, channel tags) and its page are seen working."""
    config_id = db.session.scalar(select(Channel.config_id).where(Channel.state == LIVE_STATE))
    db.session.remove()
    if config_id is None:
        return
    url = api_base.replace("/cgi-bin/", "/_emulator/simulate/add_customer")
    while not stop.wait(every_seconds):
        try:
            requests.post(url, json={"config_id": config_id}, timeout=5)
        except requests.RequestException:  # the emulator is stopping with the demo
            return
