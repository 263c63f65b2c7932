"""任务宝 launch and the messages around it, over real HTTP against the emulator: a launch push gives every audience
member exactly one message with their own link (one add_msg_template task each), a second launch sends nobody twice,
the holdout gets nothing, the link makes its opener an inviter (tagged in WeCom), an invitee is tagged and welcomed
with their own link, and a milestone message goes once."""
from collections import Counter
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import select

from app.contacts.models import Customer, FollowRelation
from app.core import settings
from app.core.db import transaction, utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.referral import jobs, launch, links, service
from app.referral.models import LaunchStatus, ReferralLaunch, ReferralParticipant, ReferralTask
from app.segments import service as segments
from app.sending import policies
from app.sending.models import Delivery, DeliveryStatus as D
from app.tags.models import CorpTag
from app.wecom import connection, inbox
from app.welcome import messages
from tests.conftest import run_jobs
from tests.integration.campaign_exec_support import dispatch_all
from tests.integration.test_sync_full import full_sync


@pytest.fixture
def world(wired, live_server):
    """A synced company, links on the live console, no quiet hours and no frequency caps (so that only the launch's
    own rule can keep a customer from a second message)."""
    full_sync()
    settings.save({"console.url": live_server}, "test")
    with transaction():
        policies.store({"quiet_hours": {"start": "00:00", "end": "00:00"}, "cap_rules": []}, "test")
    return wired


def staff_with_customers() -> list[str]:
    rows = db.session.execute(select(FollowRelation.userid).where(FollowRelation.ended_at.is_(None))
                              .group_by(FollowRelation.userid).order_by(FollowRelation.userid)).scalars().all()
    return list(rows)


def tags(n: int) -> list[str]:
    return list(db.session.scalars(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None))
                                   .order_by(CorpTag.tag_id).limit(n)))


def running_task(userid: str, receiver: str, **extra) -> ReferralTask:
    segment = segments.create_segment(f"{userid} 的客户", "", {"op": "and", "rules": [
        {"field": "staff", "operator": "in", "value": [userid]}]}, "test")
    now = utcnow()
    task = service.create(service.TaskInput(
        name="老带新", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=30), staff_userids=[receiver],
        levels=[service.LevelInput(needed=2, reward="满2人礼", stock=10)], segment_id=segment.id, **extra))
    service.move(task, "schedule")
    jobs.tick()
    return db.session.get(ReferralTask, task.id)


def messages_sent(emu) -> list[dict]:
    """Every mass message the emulator holds: (msgid, sender, recipients, text, link url)."""
    found = []
    for msg in emu.control.get("groupmsgs")["group_msgs"]:
        for sender, results in msg["results"].items():
            urls = [a["link"]["url"] for a in msg["attachments"] if a.get("msgtype") == "link"]
            found.append({"msgid": msg["msgid"], "sender": sender, "to": [r["external_userid"] for r in results],
                          "text": (msg.get("text") or {}).get("content", ""), "urls": urls})
    return found


def customer_in(url: str):
    return links.customer_of(urlparse(url).path.rsplit("/", 1)[-1])


def deliveries(send_id: int) -> dict[str, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Delivery.target_key, Delivery.status).where(Delivery.run_id == send_id)).all())


def launched(task: ReferralTask, holdout: int = 0) -> ReferralLaunch:
    made = launch.request(task, launch.LaunchInput("{客户昵称}，邀请好友领好礼", "我的专属海报", holdout), "test")
    run_jobs()
    return db.session.get(ReferralLaunch, made.id)


def work() -> None:
    while inbox.work_once():
        pass
    db.session.expire_all()


def add(emu, **data) -> dict:
    before = len(emu.control.deliveries())
    result = emu.control.add_customer(**data)
    emu.control.wait_deliveries(before + len(result["delivery_ids"]))
    return result


def test_a_launch_gives_each_member_one_message_with_their_own_link_and_a_second_one_sends_nobody_twice(world):
    userid, receiver = staff_with_customers()[:2]
    task = running_task(userid, receiver)
    first = launched(task, holdout=30)
    assert first.status == LaunchStatus.PLANNED
    planned = deliveries(first.send_id)
    treated = {k for k, s in planned.items() if s == D.PLANNED}
    held = {k for k, s in planned.items() if s == D.HOLDOUT}
    assert len(treated) >= 5 and held  # the stable draw holds some members out
    dispatch_all()
    sent = messages_sent(world)
    got = Counter(t for m in sent for t in m["to"])
    assert set(got) == treated and set(got.values()) == {1}  # each treated member once, nobody held out
    for m in sent:
        [to], [url] = m["to"], m["urls"]  # one recipient per task: the content is theirs alone
        assert customer_in(url) == (task.id, to)
    names = dict(db.session.execute(select(Customer.external_userid, Customer.name)).all())
    assert all(m["text"].startswith(f"{names[m['to'][0]]}，") for m in sent if names.get(m["to"][0]))

    newcomer = add(world, userid=userid)  # the segment grows
    work()
    second = launched(task, holdout=30)
    again = {k for k, s in deliveries(second.send_id).items() if s in (D.PLANNED, D.HOLDOUT)}
    assert again == {newcomer["external_userid"]}  # only the member no launch reached or held out before
    dispatch_all()
    got = Counter(t for m in messages_sent(world) for t in m["to"])
    assert set(got.values()) == {1} and not held & set(got)


def test_opening_the_link_makes_an_inviter_tagged_in_wecom_whose_invitee_is_tagged_and_welcomed_with_their_own_link(
        world):
    userid, receiver = staff_with_customers()[:2]
    participant_tag, invitee_tag = tags(2)
    welcome = messages.save(None, messages.TemplateInput(name="任务宝欢迎", scope="channel", text="欢迎你！"))
    task = running_task(userid, receiver, participant_tag_ids=[participant_tag], invitee_tag_ids=[invitee_tag],
                        welcome_template_id=welcome.id, hold_hours=0)
    launched(task)
    dispatch_all()
    message = messages_sent(world)[0]
    me = message["to"][0]
    assert db.session.scalar(select(ReferralParticipant).where(ReferralParticipant.task_id == task.id)) is None
    page = requests.get(message["urls"][0], timeout=30)  # the customer opens their link: they join now
    assert page.status_code == 200 and task.name in page.text
    forged = requests.get(message["urls"][0][:-3] + "abc", timeout=30)
    assert forged.status_code == 404
    jobs.tick()  # their contact way, and their participant tag in WeCom
    db.session.expire_all()
    inviter = db.session.scalar(select(ReferralParticipant).where(ReferralParticipant.task_id == task.id))
    assert inviter.external_userid == me and inviter.config_id and inviter.tagged_at
    gw = connection.gateway()
    follow = {f["userid"]: f for f in gw.get_external_contact(me)["follow_user"]}
    assert any(participant_tag in [t["tag_id"] for t in f.get("tags") or []] for f in follow.values())

    invitee = add(world, config_id=inviter.config_id)
    work()
    follow = {f["userid"]: f for f in gw.get_external_contact(invitee["external_userid"])["follow_user"]}
    assert invitee_tag in [t["tag_id"] for t in follow[receiver].get("tags") or []]
    [greeting] = [w for w in world.control.get("welcomes")["welcomes"]
                  if w["external_userid"] == invitee["external_userid"]]
    [link] = [a["link"]["url"] for a in greeting["attachments"] if a["msgtype"] == "link"]
    assert greeting["text"] == "欢迎你！" and customer_in(link) == (task.id, invitee["external_userid"])
    assert requests.get(link, timeout=30).status_code == 200  # the invitee becomes an inviter in turn
    db.session.expire_all()
    joined = db.session.scalar(select(ReferralParticipant).where(
        ReferralParticipant.external_userid == invitee["external_userid"]))
    assert joined.task_id == task.id and joined.invited_by == inviter.id


def test_a_milestone_message_goes_once_from_a_staff_member_the_inviter_knows(world):
    userid, receiver = staff_with_customers()[:2]
    task = running_task(userid, receiver, hold_hours=0, milestone_text="恭喜获得「{奖励}」",
                        near_text="再邀请 {还差人数} 位就能获得「{奖励}」")
    me = add(world, userid=userid)["external_userid"]  # not the receiving staff member's customer
    work()
    with transaction():
        inviter = service.join(task, me)
    jobs.tick()
    inviter = db.session.get(ReferralParticipant, inviter.id)
    add(world, config_id=inviter.config_id)
    work()
    jobs.tick()
    jobs.tick()  # nothing new: planned once
    add(world, config_id=inviter.config_id)
    work()
    jobs.tick()
    jobs.tick()
    dispatch_all()
    mine = [m for m in messages_sent(world) if me in m["to"]]
    assert sorted(m["text"] for m in mine) == ["再邀请 1 位就能获得「满2人礼」", "恭喜获得「满2人礼」"]
    assert {m["sender"] for m in mine} == {userid} and all(m["to"] == [me] for m in mine)
    assert all(customer_in(m["urls"][0]) == (task.id, me) for m in mine)


def test_a_launch_above_the_approval_threshold_waits_for_a_supervisor(world):
    userid, receiver = staff_with_customers()[:2]
    task = running_task(userid, receiver)
    with transaction():
        policies.store({"approval_threshold": 1}, "test")
    waiting = launched(task)
    assert waiting.status == LaunchStatus.PENDING and waiting.recipients > 1 and waiting.send_id is None
    assert db.session.scalar(select(Delivery.id).limit(1)) is None  # nothing planned, nothing to send
    launch.decide(waiting, True, "supervisor")
    run_jobs()
    approved = db.session.get(ReferralLaunch, waiting.id)
    assert approved.status == LaunchStatus.PLANNED and approved.decided_by == "supervisor"
    assert len([s for s in deliveries(approved.send_id).values() if s == D.PLANNED]) == approved.recipients
    with pytest.raises(launch.LaunchInvalid):
        launch.decide(approved, True, "supervisor")  # decided once


def test_a_launch_without_the_console_address_or_with_bad_input_is_refused_and_keeps_nothing(world):
    userid, receiver = staff_with_customers()[:2]
    task = running_task(userid, receiver)
    settings.save({"console.url": ""}, "test")
    with pytest.raises(launch.LaunchInvalid) as refused:
        launch.request(task, launch.LaunchInput("邀请好友", "", 80), "test")
    assert set(refused.value.errors) == {"console_url", "link_title", "holdout_percent"}
    assert isinstance(refused.value, FieldErrors)  # shown like every other refused form, params kept per field
    assert db.session.scalar(select(ReferralLaunch.id)) is None
