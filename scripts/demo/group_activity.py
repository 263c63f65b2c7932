"""The demo's 群活跃度: customers leaving groups over the last two weeks (some of their own accord, some removed), their
change_external_chat events taken in through the callback inbox as WeCom would send them (the console does not listen
yet while the demo seeds), then 30 days of group health built by the job."""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

import requests
from sqlalchemy import select, update

from app.community import activity
from app.community.activity_report import latest_day
from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.core.db import transaction
from app.extensions import db
from app.wecom import inbox

DAY = 86400
LEAVES = 60


def _leave_event(event: dict, when: int) -> dict:
    """The callback fields of the emulator's event (its summary), with the time moved back."""
    return {"ToUserName": "demo", "FromUserName": "sys", "CreateTime": str(when), "MsgType": "event",
            "Event": "change_external_chat", "ChatId": event["chat_id"], "ChangeType": "update",
            "UpdateDetail": "del_member", "QuitScene": str(event["quit_scene"]), "MemChangeCnt": "1",
            "MemChangeList": event["members"], "LastMemVer": event["last_version"], "CurMemVer": event["cur_version"]}


def seed_demo_group_activity(api_base: str) -> str:
    """Leaves with their scene, then the health of the last 30 days; a line saying what was made (once)."""
    if latest_day() is not None:
        return ""
    control, rng = api_base.replace("/cgi-bin/", "/_emulator/"), random.Random(7)
    members = db.session.execute(
        select(CustomerGroupMember.chat_id, CustomerGroupMember.userid)
        .join(CustomerGroup, CustomerGroup.chat_id == CustomerGroupMember.chat_id)
        .where(CustomerGroupMember.type == 2, CustomerGroupMember.left_at.is_(None),
               CustomerGroup.dismissed_at.is_(None)).order_by(CustomerGroupMember.id)).all()
    left_at: dict[tuple[str, str], datetime] = {}
    for chat_id, ext in rng.sample(members, min(LEAVES, len(members))):
        scene = 1 if rng.random() < 0.3 else 0
        answer = requests.post(f"{control}simulate/group_leave",
                               json={"chat_id": chat_id, "members": [ext], "quit_scene": scene}, timeout=10)
        if answer.status_code != 200:
            continue
        since = min(answer.json()["delivery_ids"]) - 1
        (record, *_copies) = requests.get(f"{control}deliveries", params={"since_id": since}, timeout=10).json()["deliveries"]
        when = int(time.time()) - rng.randint(0, 14 * DAY)
        inbox.ingest(_leave_event(record["event"], when))
        left_at[(chat_id, ext)] = datetime.fromtimestamp(when, timezone.utc)
    requests.post(f"{control}groupchat/release", json={}, timeout=10)  # WeCom's delay over: details are current
    while inbox.work_once():
        pass
    with transaction():  # the group re-read marks them gone now; they left when their event says
        for (chat_id, ext), when in left_at.items():
            db.session.execute(update(CustomerGroupMember).where(CustomerGroupMember.chat_id == chat_id,
                                                                 CustomerGroupMember.userid == ext).values(left_at=when))
    built = activity.run_job(days=30)
    return f"已模拟 {len(left_at)} 位客户退群（主动退群与被移出）并计算近 30 天群活跃度（{built['groups']} 条群记录；见社群运营 › 群活跃度）"
