"""Channels reach WeCom (the emulator over HTTP): create, edit, delete, import; statistics from relations."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.contacts.directory import sync_directory
from app.contacts.models import Customer, FollowRelation
from app.core.db import transaction, utcnow
from app.extensions import db
from app.wecom import connection
from app.welcome import channels
from app.welcome.models import Channel


@pytest.fixture
def staff(wired):
    with transaction():
        sync_directory(connection.gateway(), utcnow())
    return sorted(connection.gateway().get_follow_user_list())[:3]


def test_create_edit_delete_reach_wecom(wired, wecom, staff):
    channel = channels.create(channels.ChannelInput("双十一海报", "poster-1111", staff[:1], skip_verify=False))
    _, way = wecom.post("externalcontact/get_contact_way", {"config_id": channel.config_id})
    assert {k: way["contact_way"][k] for k in ("type", "scene", "state", "user", "skip_verify", "remark")} == \
        {"type": 1, "scene": 2, "state": "poster-1111", "user": staff[:1], "skip_verify": False, "remark": "双十一海报"}
    assert channel.qr_code == way["contact_way"]["qr_code"]

    many = channels.create(channels.ChannelInput("门店", "store", staff))
    channels.update(many, channels.ChannelInput("门店（新）", "store-2", staff[1:], skip_verify=True))
    _, way = wecom.post("externalcontact/get_contact_way", {"config_id": many.config_id})
    assert (way["contact_way"]["type"], way["contact_way"]["state"], way["contact_way"]["user"]) == \
        (2, "store-2", staff[1:])

    config_id = channel.config_id
    channels.delete(channel)
    _, gone = wecom.post("externalcontact/get_contact_way", {"config_id": config_id})
    assert gone["errcode"] == 41044
    assert db.session.scalar(select(Channel).where(Channel.config_id == config_id)) is None


def test_bad_input_changes_nothing_in_wecom(wired, staff):
    channels.create(channels.ChannelInput("A", "same-state", staff[:1]))
    before = wired.control.call_count("externalcontact/add_contact_way")
    with pytest.raises(channels.ChannelInvalid) as info:
        channels.create(channels.ChannelInput("", "same-state", ["nobody"]))
    assert set(info.value.errors) == {"name", "state", "userids"}
    single = db.session.scalar(select(Channel))
    with pytest.raises(channels.ChannelInvalid) as info:
        channels.update(single, channels.ChannelInput("A", "same-state", staff[:2]))
    assert "单人活码只能有一位员工" in info.value.errors["userids"]
    assert wired.control.call_count("externalcontact/add_contact_way") == before


def test_contact_ways_made_in_wecom_are_imported_once(wired, staff):
    channels.create(channels.ChannelInput("控制台建的", "console-made", staff[:1]))
    in_wecom = [w["config_id"] for w in connection.gateway().iter_contact_ways()]
    first = channels.import_from_wecom()
    assert (first.added, first.known) == (len(in_wecom) - 1, 1)
    assert channels.import_from_wecom().added == 0
    imported = db.session.scalars(select(Channel).where(Channel.source == "wecom")).all()
    assert {c.config_id for c in imported} == set(in_wecom) - {db.session.scalar(
        select(Channel.config_id).where(Channel.source == "console"))}
    assert all(c.qr_code and c.userids for c in imported)


def test_the_import_runs_as_one_job_and_leaves_out_referral_inviter_ways_without_asking_wecom(
        wired, staff, client, signed_in_as):
    from app.jobs.models import Job
    from app.referral import jobs, service
    from app.referral.models import ReferralParticipant
    from tests.conftest import csrf_token, run_jobs
    from tests.integration.test_referral_reconcile import long_task

    task = long_task(staff)
    with transaction():
        service.join(task, "wminviter")
    jobs.tick()  # the inviter's personal contact way is made in WeCom
    inviter = db.session.scalar(select(ReferralParticipant))
    in_wecom = [w["config_id"] for w in connection.gateway().iter_contact_ways()]
    assert inviter.config_id in in_wecom

    signed_in_as("operator")
    token = csrf_token(client, "/welcome/channels")
    client.post("/welcome/channels/import", data={"csrf_token": token})
    second = client.post("/welcome/channels/import", data={"csrf_token": token}, follow_redirects=True)
    assert "正在进行中" in second.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "welcome.channel_import")) == 1
    assert "后台任务 #" in client.get("/welcome/channels").get_data(as_text=True)  # waiting, no channel yet
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 0

    fetched = wired.control.call_count("externalcontact/get_contact_way")
    assert run_jobs() == 1
    # every way but the inviter's is read: the referral module holds that one
    assert wired.control.call_count("externalcontact/get_contact_way") - fetched == len(in_wecom) - 1
    page = client.get("/welcome/channels").get_data(as_text=True)
    assert f"导入 {len(in_wecom) - 1} 个联系我配置，已有 0 个" in page
    assert "未导入 1 个任务宝为邀请人生成的专属活码：它们由控制台的其他功能管理，不是渠道" in page
    assert db.session.scalar(select(Channel).where(Channel.config_id == inviter.config_id)) is None

    signed_in_as("admin")
    listing = client.get("/jobs/?kind=welcome.channel_import").get_data(as_text=True)
    assert f"&#34;added&#34;: {len(in_wecom) - 1}" in listing or f'"added": {len(in_wecom) - 1}' in listing

    with transaction():  # a way made for an inviter that no inviter holds: read once, recognised, left out
        inviter.config_id = None
    fetched = wired.control.call_count("externalcontact/get_contact_way")
    assert channels.import_from_wecom().skipped == {"任务宝为邀请人生成的专属活码": 1}
    assert wired.control.call_count("externalcontact/get_contact_way") - fetched == 1


def test_stats_count_adds_kept_and_lost(app):
    now = utcnow()
    with transaction():
        for n, (days_ago, ended_after) in enumerate([(10, None), (10, 3), (10, 0.5), (0.5, None), (3, 2)]):
            ext = f"wm{n}"
            db.session.add(Customer(external_userid=ext, name=ext))
            added = now - timedelta(days=days_ago)
            db.session.add(FollowRelation(userid="u1", external_userid=ext, state="live", added_at=added,
                                          ended_at=added + timedelta(days=ended_after) if ended_after else None))
    s = channels.stats(["live", "none"], now)
    assert (s["live"].adds, s["live"].lost) == (5, 3)
    assert (s["live"].kept_1d, s["live"].eligible_1d) == (3, 4)
    assert (s["live"].kept_7d, s["live"].eligible_7d) == (1, 3)
    assert s["none"].adds == 0
