"""The welcome on a customer add, through real callbacks and the emulator's send_welcome_msg over HTTP."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app import worker
from app.contacts.directory import sync_directory
from app.contacts.models import GroupMemberChange
from app.core.db import transaction, utcnow
from app.extensions import db
from app.tags.sync import sync_corp_tags
from app.wecom import connection, inbox
from app.welcome import channels, messages
from app.welcome.models import Outcome, WelcomeRecord


def add(emu, **data) -> dict:
    """A customer adds a staff member; the callback(s) reach the console's inbox."""
    before = len(emu.control.deliveries())
    result = emu.control.add_customer(**data)
    emu.control.wait_deliveries(before + len(result["delivery_ids"]))
    return result


def work() -> None:
    while inbox.work_once():
        pass


def welcomes(emu) -> list[dict]:
    return emu.control.get("welcomes")["welcomes"]


def record(external_userid: str) -> WelcomeRecord:
    db.session.expire_all()
    return db.session.scalar(select(WelcomeRecord).where(WelcomeRecord.external_userid == external_userid))


@pytest.fixture
def staff(wired):
    """Two followers, known to the console (the directory synced)."""
    with transaction():
        sync_directory(connection.gateway(), utcnow())
    return sorted(connection.gateway().get_follow_user_list())[:2]


def template(name, scope, text, **extra):
    return messages.save(None, messages.TemplateInput(name=name, scope=scope, text=text, **extra))


def test_template_choice_channel_then_staff_then_default(wired, staff):
    a, b = staff
    template("默认", "default", "默认欢迎")
    template("A 的", "staff", "A 的欢迎", userids=[a])
    live = template("直播", "channel", "直播间欢迎")
    channel = channels.create(channels.ChannelInput("直播间", "live-0618", [a], template_id=live.id))
    via_channel = add(wired, config_id=channel.config_id)
    to_a, to_b = add(wired, userid=a), add(wired, userid=b)
    work()
    texts = {w["external_userid"]: w["text"] for w in welcomes(wired)}
    assert texts == {via_channel["external_userid"]: "直播间欢迎", to_a["external_userid"]: "A 的欢迎",
                     to_b["external_userid"]: "默认欢迎"}
    assert (record(via_channel["external_userid"]).template_scope, record(via_channel["external_userid"]).channel_id) \
        == ("channel", channel.id)
    assert [record(r["external_userid"]).template_scope for r in (to_a, to_b)] == ["staff", "default"]


def test_variables_and_attachments_reach_wecom(wired, staff):
    template("默认", "default", "你好，{客户昵称}，我是{员工姓名}",
             attachments=[{"msgtype": "link", "link": {"title": "新人礼", "url": "https://shop.example/gift"}}])
    added = add(wired, userid=staff[0], name="赵敏")
    work()
    [sent] = welcomes(wired)
    assert sent["text"].startswith("你好，赵敏，我是") and len(sent["text"]) > len("你好，赵敏，我是")
    assert sent["attachments"] == [{"msgtype": "link", "link": {"title": "新人礼", "url": "https://shop.example/gift"}}]
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode) == (Outcome.SENT, 0) and rec.latency_ms is not None


def test_already_greeted_41051_is_recorded_and_not_retried(wired, staff, wecom):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0])
    resp, answer = wecom.post("externalcontact/send_welcome_msg", {"welcome_code": added["welcome_code"],
                                                                    "text": {"content": "另一个应用先发了"}})
    assert answer["errcode"] == 0
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode) == (Outcome.ALREADY, 41051)
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 2  # theirs, ours; no retry
    assert db.session.scalar(select(inbox.CallbackEvent.status)) == inbox.Status.DONE


def test_another_app_sending_41096_is_retried_and_the_welcome_goes_out_once(wired, staff):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0], welcome_busy=1)  # the emulator answers 41096 once for this code
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode) == (Outcome.SENT, 0) and rec.latency_ms >= 1000
    assert [(w["welcome_code"], w["errcode"]) for w in welcomes(wired)] == [(added["welcome_code"], 41096),
                                                                          (added["welcome_code"], 0)]


def test_41096_too_close_to_the_end_of_the_window_is_recorded_as_failed(wired, staff):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0], welcome_busy=5)
    db.session.execute(update(inbox.CallbackEvent).values(received_at=utcnow() - timedelta(seconds=19.5)))
    db.session.commit()
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode) == (Outcome.FAILED, 41096)
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 1


def test_too_late_41050_is_recorded_as_missed_with_the_delay(wired, staff):
    template("默认", "default", "欢迎")
    wired.control.config(welcome_window=0.3)
    added = add(wired, userid=staff[0])
    time.sleep(0.6)
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode) == (Outcome.MISSED, 41050) and rec.latency_ms >= 300


def test_an_add_queued_past_the_window_is_missed_without_calling_wecom(wired, staff):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0])
    db.session.execute(update(inbox.CallbackEvent).values(received_at=utcnow() - timedelta(seconds=21)))
    db.session.commit()
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.errcode, rec.reason) == (Outcome.MISSED, None, "expired_in_queue")
    assert rec.latency_ms >= 21000
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 0


def test_add_without_welcome_code_records_why(wired, staff):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0], welcome_code=False)
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.reason, rec.welcome_code) == (Outcome.SKIPPED, "no_code", None)
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 0


def test_no_template_is_skipped_with_reason(wired, staff):
    added = add(wired, userid=staff[0])
    work()
    assert (record(added["external_userid"]).outcome, record(added["external_userid"]).reason) == \
        (Outcome.SKIPPED, "no_template")


def test_duplicate_callbacks_and_reruns_never_send_twice(wired, staff):
    template("默认", "default", "欢迎")
    wired.control.config(duplicate_delivery=True)
    added = add(wired, userid=staff[0])
    work()
    db.session.execute(update(inbox.CallbackEvent).values(lane=inbox.LANE_WELCOME, status=inbox.Status.PENDING))
    db.session.commit()
    work()
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 1
    assert db.session.scalar(select(func.count()).select_from(WelcomeRecord)) == 1
    assert record(added["external_userid"]).outcome == Outcome.SENT


def test_a_worker_that_died_mid_welcome_is_not_followed_by_a_second_send(wired, staff):
    template("默认", "default", "欢迎")
    added = add(wired, userid=staff[0])
    assert inbox.claim(1, (inbox.LANE_WELCOME,))  # a worker claims the event, then dies before recording
    db.session.execute(update(inbox.CallbackEvent).values(claimed_until=utcnow()))  # its lease runs out
    db.session.commit()
    work()
    rec = record(added["external_userid"])
    assert (rec.outcome, rec.reason) == (Outcome.SENDING, "interrupted")
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 0


def test_channel_tags_are_applied_after_the_welcome(wired, staff):
    with transaction():
        sync_corp_tags(connection.gateway(), utcnow())
    tag = connection.gateway().get_corp_tag_list()[0]["tag"][0]["id"]
    template("默认", "default", "欢迎")
    channel = channels.create(channels.ChannelInput("门店", "store-01", staff, tag_ids=[tag]))
    added = add(wired, config_id=channel.config_id)
    work()
    marks = wired.control.get("tag_marks")["tag_marks"]
    assert [m["external_userid"] for m in marks] == [added["external_userid"]]
    assert welcomes(wired)[0]["time"] <= marks[0]["time"]


def test_group_joins_are_recorded_once(wired, staff):
    group = wired.control.post("simulate/group_create", owner=staff[0])
    customer = add(wired, userid=staff[0], welcome_code=False)["external_userid"]
    before = len(wired.control.deliveries())
    wired.control.post("simulate/group_join", chat_id=group["chat_id"], members=[customer], join_scene=3,
                       duplicate=True)
    wired.control.wait_deliveries(before + 2)
    work()
    joins = db.session.scalars(select(GroupMemberChange)).all()
    assert [(j.chat_id, j.kind, j.members, j.scene) for j in joins] == [(group["chat_id"], "join", 1, 3)]


def test_a_burst_during_a_large_backlog_still_meets_the_window(app, wired, staff):
    """300 slow default-lane events (corp tag re-syncs) are queued; 20 adds arrive with a 3 s window."""
    template("默认", "default", "欢迎 {客户昵称}")
    for n in range(300):
        inbox.ingest({"Event": "change_external_tag", "ChangeType": "update", "Id": f"tag{n}", "TagType": "tag",
                      "CreateTime": "1700000000"})
    wired.control.config(welcome_window=3.0)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(app, stop), daemon=True)
    thread.start()
    try:
        added = [wired.control.add_customer(userid=staff[n % 2]) for n in range(20)]
        deadline = time.monotonic() + 15
        while len([w for w in welcomes(wired)]) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        backlog_left = db.session.scalar(select(func.count()).where(
            inbox.CallbackEvent.event == "change_external_tag", inbox.CallbackEvent.status != inbox.Status.DONE))
    finally:
        stop.set()
        thread.join(30)
    sent = welcomes(wired)
    assert sorted(w["welcome_code"] for w in sent) == sorted(a["welcome_code"] for a in added)
    assert all(w["errcode"] == 0 for w in sent), [w for w in sent if w["errcode"]]
    assert backlog_left > 0  # the welcomes did not wait for the backlog to drain
