"""社群运营 over real HTTP against the emulator: join codes in WeCom, joins credited to a code's state, a full group
passing to the next and a new one opened, invitations whose reminder skips those who joined."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.community import code_stats, codes, invitations
from app.community.models import Invitation, JoinCode
from app.contacts.models import Customer, CustomerGroup, FollowRelation
from app.core.db import utcnow
from app.extensions import db
from app.sending.models import Delivery, DeliveryStatus as D
from tests.conftest import run_jobs
from tests.integration.test_sync_events import deliver
from tests.integration.test_sync_full import full_sync


@pytest.fixture
def owner(wired):
    full_sync()
    return db.session.scalar(select(CustomerGroup.owner).order_by(CustomerGroup.id))


def empty_group(emulator, owner, name) -> str:
    return deliver(emulator, "group_create", owner=owner, name=name)["chat_id"]


def make_code(chats, state="store-01", tier=None, name="门店一") -> JoinCode:
    return codes.create(codes.CodeInput(name, state, chats, True, "会员群", 10, tier), "test")


def scan(emulator, code: JoinCode, **who) -> dict:
    return deliver(emulator, "group_join_by_code", config_id=code.config_id, **who)


def test_a_code_is_made_changed_and_deleted_in_wecom(wired, wecom, owner):
    first, second = (empty_group(wired, owner, n) for n in ("一群", "二群"))
    code = make_code([first])
    way = wecom.post("externalcontact/groupchat/get_join_way", {"config_id": code.config_id})[1]["join_way"]
    assert (way["chat_id_list"], way["state"], way["room_base_name"], way["room_base_id"]) == ([first], "store-01", "会员群", 10)
    assert code.qr_code == way["qr_code"]
    codes.update(code, codes.CodeInput("门店一", "store-01", [first, second], False, "", None, None))
    way = wecom.post("externalcontact/groupchat/get_join_way", {"config_id": code.config_id})[1]["join_way"]
    assert (way["chat_id_list"], way["auto_create_room"], way["state"]) == ([first, second], 0, "store-01")
    with pytest.raises(codes.CodeInvalid) as bad:  # six groups: refused before WeCom is called, nothing changes
        codes.update(code, codes.CodeInput("门店一", "store-01", [first] * 1 + ["a", "b", "c", "d", "e"], False, "", None, None))
    assert "chat_ids" in bad.value.errors
    with pytest.raises(codes.CodeInvalid) as taken:
        make_code([first], state="store-01", name="另一个")
    assert "state" in taken.value.errors
    codes.delete(code)
    assert wecom.post("externalcontact/groupchat/get_join_way", {"config_id": code.config_id})[1]["errcode"] == 41044
    assert db.session.scalar(select(JoinCode)) is None


def test_a_join_through_a_code_is_credited_to_its_state(wired, owner):
    chat_id = empty_group(wired, owner, "门店群")
    store, live = make_code([chat_id], "store-01", name="门店"), make_code([chat_id], "live-07", name="直播")
    for _ in range(3):
        scan(wired, store)
    gone = scan(wired, live)["external_userid"]
    deliver(wired, "group_leave", chat_id=chat_id, members=[gone])
    figures = code_stats.figures([store, live])
    assert (figures[store.id].total.joins, figures[store.id].total.leaves) == (3, 0)
    assert (figures[live.id].total.joins, figures[live.id].total.leaves) == (1, 1)
    (group,) = figures[store.id].groups
    assert (group.chat_id, group.members, group.code.joins) == (chat_id, 4, 3)  # owner + 3 who stayed


def test_a_full_group_opens_the_next_one(wired, owner):
    wired.control.config(group_capacity=3)  # the owner and two customers
    first, second = empty_group(wired, owner, "一群"), empty_group(wired, owner, "二群")
    code = make_code([first, second])
    joined = [scan(wired, code) for _ in range(5)]
    assert [j["chat_id"] for j in joined[:4]] == [first, first, second, second]
    opened = joined[4]["chat_id"]
    assert joined[4]["opened"] and opened not in (first, second)
    db.session.expire_all()
    new_group = db.session.scalar(select(CustomerGroup).where(CustomerGroup.chat_id == opened))
    assert new_group.name == "会员群10" and new_group.owner == owner  # the create callback brought it in
    figures = code_stats.figures([code])[code.id]
    assert [g.chat_id for g in figures.groups] == [first, second, opened]
    assert [g.opened_by_wecom for g in figures.groups] == [False, False, True]
    assert figures.total.joins == 5
    codes.refresh(code)  # WeCom lists the group it opened behind the code
    assert code.wecom_chat_ids == [first, second, opened] and code.chat_ids == [first, second]


def test_a_reminder_never_goes_to_a_customer_who_already_joined(wired, owner):
    chat_id = empty_group(wired, owner, "VIP群")
    code = make_code([chat_id], "vip-01", tier="vip")
    tag_id = next(t for tags in db.session.scalars(select(FollowRelation.tag_ids)) for t in tags or [])
    data = invitations.InvitationInput("VIP 邀请", "vip", code.id, None, tag_id, "邀请您入群", "还没入群？", 3)
    invitation = invitations.create(data, "test")
    run_jobs()
    invitation = db.session.get(Invitation, invitation.id)
    assert invitation.status == "sent" and invitation.first_send_id
    invited = db.session.execute(select(Customer.external_userid).join(Delivery, Delivery.customer_id == Customer.id)
                                 .where(Delivery.run_id == invitation.first_send_id,
                                        Delivery.status == D.PLANNED)).scalars().all()
    assert len(invited) >= 3
    joiners = invited[:2]
    for ext in joiners:
        scan(wired, code, external_userid=ext)
    assert not invitations.remind(invitation.id, utcnow() + timedelta(days=2))  # not due yet
    assert invitations.remind(invitation.id, utcnow() + timedelta(days=3, minutes=1))
    invitation = db.session.get(Invitation, invitation.id)
    reminded = set(db.session.scalars(select(Delivery.target_key).where(Delivery.run_id == invitation.reminder_send_id)))
    assert reminded and not reminded & set(joiners)
    assert set(invited) - set(joiners) <= reminded  # everyone invited who did not join is reminded
    assert not invitations.remind(invitation.id, utcnow() + timedelta(days=10))  # once only


PNG = b"\x89PNG\r\n\x1a\n" + b"\1" * 300


def test_group_welcomes_reach_wecom_with_one_library_attachment(wired, wecom):
    from app.community import welcomes
    from app.community.models import GroupWelcome
    from app.media import service as media

    item = media.add("image", "入群海报", "join.png", PNG, "community")
    image = {"msgtype": "image", "image": {"library_id": item.id}}
    saved = welcomes.save(None, welcomes.WelcomeInput("VIP 欢迎", "欢迎 %NICKNAME% 加入", [image], "vip"))
    got = wecom.post("externalcontact/group_welcome_template/get", {"template_id": saved.template_id})[1]
    assert got["text"]["content"] == "欢迎 %NICKNAME% 加入" and got["image"]["media_id"]  # a fresh media_id
    with pytest.raises(welcomes.WelcomeInvalid):  # two attachments: refused before WeCom is called
        welcomes.save(saved, welcomes.WelcomeInput("VIP 欢迎", "欢迎", [image, image], "vip"))
    with pytest.raises(welcomes.WelcomeInvalid):  # 3,003 bytes
        welcomes.save(saved, welcomes.WelcomeInput("VIP 欢迎", "字" * 1001, [], "vip"))
    welcomes.save(saved, welcomes.WelcomeInput("VIP 欢迎", "新的欢迎语", [], "vip"))
    got = wecom.post("externalcontact/group_welcome_template/get", {"template_id": saved.template_id})[1]
    assert got["text"]["content"] == "新的欢迎语" and "image" not in got
    template_id = saved.template_id
    welcomes.delete(saved)
    assert wecom.post("externalcontact/group_welcome_template/get", {"template_id": template_id})[1]["errcode"] == 40058
    assert db.session.scalar(select(GroupWelcome)) is None
