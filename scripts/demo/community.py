"""The demo's community set-up: tiers on groups, three join codes with a history of joins (one nearly full), group
welcomes per tier, a VIP invitation whose reminder went to those who did not join, and a store channel whose welcome
carries the store's group code."""
from __future__ import annotations

import random
import time
from datetime import timedelta

import requests
from sqlalchemy import func, select

from app.community import codes, invitation_review, invitations, opened, tiers, welcomes
from app.community.models import Invitation, JoinCode
from app.contacts import groups as contact_groups
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.sending.models import Delivery, DeliveryStatus as D
from app.tags.models import CorpTag
from app.wecom.connection import gateway
from app.welcome import channels, messages

DAY = 86400


def _groups_by_size() -> list[tuple[str, int]]:
    size = func.count(CustomerGroupMember.id)
    rows = db.session.execute(select(CustomerGroup.chat_id, size).join(
        CustomerGroupMember, CustomerGroupMember.chat_id == CustomerGroup.chat_id)
        .where(CustomerGroup.dismissed_at.is_(None), CustomerGroupMember.left_at.is_(None))
        .group_by(CustomerGroup.chat_id).order_by(size.desc(), CustomerGroup.chat_id)).all()
    return [(c, n) for c, n in rows]


def _scan(control: str, code: JoinCode, rng: random.Random, **who) -> dict | None:
    """A customer scans the code at some time in the last two weeks (the emulator backdates the join)."""
    when = int(time.time()) - rng.randint(0, 14 * DAY)
    answer = requests.post(f"{control}simulate/group_join_by_code",
                           json={"config_id": code.config_id, "join_time": when, **who}, timeout=10)
    return answer.json() if answer.status_code == 200 else None


def _leave(control: str, chat_id: str, ext: str) -> None:
    requests.post(f"{control}simulate/group_leave", json={"chat_id": chat_id, "members": [ext]}, timeout=10)


def _refetch(control: str, chat_ids: set[str]) -> None:
    """Read the groups the scans changed (the console's callback URL is not listening yet while the demo seeds)."""
    requests.post(f"{control}groupchat/release", json={}, timeout=10)  # WeCom's delay over: details are current
    gw = gateway()
    found = [(chat, 0) for chat in (contact_groups.fetch_group(gw, c) for c in sorted(chat_ids)) if chat]
    with transaction():
        contact_groups.save_groups(found, utcnow())


def seed_demo_community(api_base: str, actor: str) -> str:
    """Create the demo's community data once; a line saying what was made."""
    if db.session.scalar(select(JoinCode.id).limit(1)) is not None:
        return ""
    control, rng = api_base.replace("/cgi-bin/", "/_emulator/"), random.Random(19)
    ranked = _groups_by_size()
    vip, regular, newcomer = ranked[:6], ranked[6:40], ranked[-12:]
    for rows, tier in ((vip, "vip"), (regular, "regular"), (newcomer, "newcomer")):
        tiers.set_tier([c for c, _n in rows], tier, actor)
    made = [
        codes.create(codes.CodeInput("旗舰店 VIP 会员群", "store_vip_sh01", [c for c, _n in vip[:2]], True, "VIP会员群", 3,
                                     "vip"), actor),
        codes.create(codes.CodeInput("直播间新人群", "live_newcomer", [c for c, _n in newcomer[:3]], True, "新人福利群",
                                     1, "newcomer"), actor),
        codes.create(codes.CodeInput("门店普通会员群", "store_bj02_group", [c for c, _n in regular[:2]], False, "", None,
                                     "regular"), actor)]
    touched: set[str] = set()
    leavers = []
    for code, scans in ((made[0], 25), (made[1], 60), (made[2], 15)):
        for _ in range(scans):
            if (joined := _scan(control, code, rng)) is None:
                break
            touched.add(joined["chat_id"])
            if rng.random() < 0.15:
                leavers.append((joined["chat_id"], joined["external_userid"]))
    _refetch(control, touched)  # the joins are seen first, as callbacks would have them seen, then some leave
    for chat_id, ext in leavers:
        _leave(control, chat_id, ext)
    _refetch(control, {chat_id for chat_id, _ext in leavers})
    opened.adopt_all()  # groups WeCom opened for a full code join its groups with its tier, as the sync's job does
    _seed_store_channel(made[2])
    welcomes.save(None, welcomes.WelcomeInput("VIP 入群欢迎", "欢迎 %NICKNAME% 加入 VIP 会员群！每周三会员日专享 9 折，"
                                              "群公告里有专属客服。", tier="vip"))
    welcomes.save(None, welcomes.WelcomeInput("新人入群欢迎", "欢迎 %NICKNAME%！新人首单立减 20 元，回复「新人」领券。",
                                              tier="newcomer"))
    invited = _seed_invitation(control, made[0], rng, actor)
    return (f"已创建 3 个群活码、2 条入群欢迎语、群分层、1 个入群邀请（邀请 {invited} 位 A 类客户）和一个欢迎语附带群活码的"
            "门店渠道（见社群运营页与欢迎语页）")


def _seed_store_channel(code: JoinCode) -> None:
    """A store's channel whose welcome carries the store's group code: its new customers are invited into the group."""
    follower = db.session.scalar(select(Staff.userid).where(Staff.is_follow_user.is_(True)).order_by(Staff.userid))
    if follower is None:
        return
    welcome = messages.save(None, messages.TemplateInput(
        "北京二店新客欢迎语", "channel", "{客户昵称}您好，欢迎光临北京二店！长按识别下方二维码加入门店会员群，每周新品试饮。",
        group_code_id=code.id))
    channels.create(channels.ChannelInput("北京二店新客码", "bj02_newcomer", [follower], template_id=welcome.id))


def _seed_invitation(control: str, code: JoinCode, rng: random.Random, actor: str) -> int:
    """A VIP invitation from four days ago: some of the invited joined, the reminder went to the others."""
    tag_id = db.session.scalar(select(CorpTag.tag_id).where(CorpTag.name == "A类客户", CorpTag.deleted_at.is_(None)))
    if tag_id is None:
        return 0
    invitation = invitations.create(invitations.InvitationInput(
        "A 类客户进 VIP 群", "vip", code.id, None, tag_id, "您好，作为 A 类会员，邀请您加入 VIP 会员群：会员日专享价、"
        "新品先尝，扫码即可进群。", "VIP 会员群还给您留着位置，扫码进群，本周三会员日 9 折。", 3), actor)
    invitations.run_invite(invitation.id)
    if db.session.get(Invitation, invitation.id).status == invitations.PENDING_APPROVAL:  # above the threshold
        invitation_review.approve(invitation.id, "supervisor", "会员日活动，同意")
        invitations.run_invite(invitation.id)
    with transaction():
        invitation = db.session.get(Invitation, invitation.id)
        invitation.created_at = invitation.decided_at = utcnow() - timedelta(days=4)
    sent = db.session.scalars(select(Customer.external_userid).join(Delivery, Delivery.customer_id == Customer.id)
                              .where(Delivery.run_id == invitation.first_send_id, Delivery.status == D.PLANNED)).all()
    touched = set()
    for ext in rng.sample(sent, min(len(sent), 40)):
        if (joined := _scan(control, code, rng, external_userid=ext)) is not None:
            touched.add(joined["chat_id"])
    _refetch(control, touched)
    invitations.remind(invitation.id)
    return len(sent)
