"""The demo's 群SOP: three SOPs started from built-in templates (VIP 会员日, 新人 21 天打卡, 普通群每日早安/干货) so the
群日历 is full, one VIP group whose monthly group-message quota is already used up in WeCom (its owner sent that many
from the client), one regular group added by hand to the VIP SOP (应用SOP), and a VIP push plus a newcomer owner task due a minute ago that the worker plans for real."""
from __future__ import annotations

import calendar
from datetime import timedelta

import requests
from sqlalchemy import select

from app.community.sop import planner, reach, service
from app.community.sop.models import GroupSop
from app.contacts.models import CustomerGroup
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.sending.outside_sends import import_outside_sends


def _first_group(sop: GroupSop) -> CustomerGroup | None:
    """The first (by chat_id) of the live groups the SOP reaches, as the planner finds them."""
    return db.session.scalar(reach.reached(sop).order_by(CustomerGroup.chat_id).limit(1))


def _use_up_quota(control: str, vip: GroupSop) -> str | None:
    """A group of the VIP SOP: its owner sends it as many group messages from the client as the month allows (WeCom's
    quota is per group and month); the console learns of them as it does every 30 minutes, by importing sends made
    outside it."""
    group = _first_group(vip)
    if group is None:
        return None
    chat, owner = group.chat_id, group.owner
    local = utcnow().astimezone(settings.corp_timezone())
    for n in range(calendar.monthrange(local.year, local.month)[1]):
        requests.post(f"{control}groupmsg/member_send", timeout=10, json={
            "userid": owner, "chat_type": "group", "chat_id_list": [chat], "text": f"群主自己发的第 {n + 1} 条"}
        ).raise_for_status()
    import_outside_sends()
    return chat


def seed_demo_group_sop(api_base: str, actor: str) -> str:
    """Create the demo's SOPs once; a line saying what was made."""
    if db.session.scalar(select(GroupSop.id).limit(1)) is not None:
        return ""
    made_at = utcnow() - timedelta(minutes=5)  # made a few minutes ago, the new items due a minute ago
    vip = service.create("VIP 会员日", "vip", "member_day", actor, made_at)
    newcomer = service.create("新人 21 天打卡", "newcomer", "checkin", actor, made_at)
    regular = service.create("普通群每日早安/干货", "regular", "morning", actor, made_at)
    full = _use_up_quota(api_base.replace("/cgi-bin/", "/_emulator/"), vip)
    extra = [group] if (group := _first_group(regular)) else []
    reach.add(vip, extra, actor, made_at)  # as 应用SOP on the group list does: a regular group also gets the VIP days
    local = utcnow().astimezone(settings.corp_timezone()) - timedelta(minutes=1)
    at, today = local.strftime("%H:%M"), local.date().isoformat()
    service.save_item(vip, None, service.ItemInput(
        "会员专享预热", "push", "VIP 会员专享：本周会员日提前看，回复「会员日」领取专属券～", [], at, "once", today), made_at)
    service.save_item(newcomer, None, service.ItemInput(
        "新人群打卡开场", "task", "请在群里发打卡规则，并@今天新入群的成员参加 21 天打卡。", [], at, "once", today), made_at)
    made = planner.plan_due()
    quota = "，其中 1 个 VIP 群本月群发已达上限（见群日历里的原因）" if full else ""
    return f"已创建 3 个群SOP（会员日、21 天打卡、每日早安/干货；会员日另手动加入了 {len(extra)} 个普通群）并安排了 {made} 个到期事项{quota}（见社群运营 › 群SOP / 群日历）"
