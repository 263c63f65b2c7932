"""Staff app messages through the console's outbox to the emulator over real HTTP: nothing silently lost past
WeCom's per-member limit, unknown members reported, idempotent per purpose, links back to the console."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.staffmsg import dispatch
from app.staffmsg.models import INVALID_USER, QUEUED, StaffMessage
from app.staffmsg.service import notify, undelivered
from app.wecom import connection


@pytest.fixture
def staff_app(app, emulator):
    """The console using the emulator as WeCom, with the app's AgentId and the console's address set."""
    app.config["WECOM_API_BASE"] = emulator.api_base
    settings.save({"wecom.corp_id": emulator.corp_id, "wecom.secret": emulator.secret,
                   "wecom.agent_id": emulator.agent_id, "console.url": "https://scrm.example.com"}, "test")
    connection.forget()
    yield emulator
    connection.forget()


def _member(emulator) -> str:
    return next(u["userid"] for u in emulator.control.users() if not u.get("outside_range"))


def _run() -> dict:
    result = dispatch.run_job(avoid_busy_minutes=False)
    db.session.expire_all()
    return result


def _a_minute_passes(emulator) -> None:
    """Our record of what was sent and WeCom's windows both move a minute on."""
    _earlier(61)
    emulator.control.advance_clock(61)


def _earlier(seconds: float) -> None:
    """Every sent message as if sent `seconds` earlier."""
    with transaction():
        for message in db.session.scalars(select(StaffMessage).where(StaffMessage.sent_at.is_not(None))):
            message.sent_at -= timedelta(seconds=seconds)


def test_forty_messages_to_one_member_in_a_minute_all_arrive_none_dropped(staff_app):
    userid = _member(staff_app)
    with transaction():
        for n in range(40):
            notify(userid, f"test:{n}", f"提醒 {n}", f"第 {n} 条", url=f"/tasks/{n}", feature="test")
    first = _run()
    assert first["sent"] == dispatch.PER_MINUTE and first["held"] == 40 - dispatch.PER_MINUTE
    assert db.session.scalar(select(func.count()).where(StaffMessage.state == QUEUED)) == 15
    _a_minute_passes(staff_app)
    assert _run()["sent"] == 15
    seen = staff_app.control.app_messages(userid)
    assert seen["dropped"] == []
    assert sorted(m["content"]["title"] for m in seen["received"][userid]) == sorted(f"提醒 {n}" for n in range(40))
    assert seen["received"][userid][0]["content"]["url"] == "https://scrm.example.com/tasks/0"


def test_an_unknown_member_is_reported_not_retried(staff_app):
    userid = _member(staff_app)
    with transaction():
        notify("left-the-company", "test:gone", "提醒", "请跟进", url="/tasks/1", feature="test")
        notify(userid, "test:here", "提醒", "请跟进", url="/tasks/1", feature="test")
    result = _run()
    assert (result["sent"], result["invalid"]) == (1, 1)
    assert [(m.userid, m.state) for m in undelivered("test")] == [("left-the-company", INVALID_USER)]
    assert _run()["sent"] == 0  # nothing asked again
    assert staff_app.control.call_count("message/send") == 1  # one call for both members (same content)


def test_asking_twice_for_one_purpose_sends_once(staff_app):
    userid = _member(staff_app)
    with transaction():
        first = notify(userid, "test:once", "提醒", "请跟进", url="/tasks/7")
    with transaction():
        again = notify(userid, "test:once", "另一个标题", "别的内容", url="/tasks/8")
    assert again.id == first.id and again.title == "提醒"
    _run()
    _run()
    assert len(staff_app.control.app_messages(userid)["received"][userid]) == 1


def test_the_same_text_twice_waits_for_wecoms_duplicate_window_instead_of_being_dropped(staff_app):
    userid = _member(staff_app)
    with transaction():
        notify(userid, "test:a", "", "今日待办 3 项", kind="text")
        notify(userid, "test:b", "", "今日待办 3 项", kind="text")
    assert _run()["held"] == 1
    _earlier(dispatch.DUPLICATE_CHECK_SECONDS + 1)  # WeCom's duplicate window has passed
    staff_app.control.advance_clock(dispatch.DUPLICATE_CHECK_SECONDS + 1)
    assert _run()["sent"] == 1
    assert len(staff_app.control.app_messages(userid)["received"][userid]) == 2


def test_a_message_unsendable_for_a_day_is_given_up_and_shown(staff_app):
    with transaction():
        notify(_member(staff_app), "test:old", "提醒", "请跟进", url="/tasks/1",
               not_before=utcnow() - timedelta(hours=25))
    with transaction():
        settings.save({"wecom.agent_id": ""}, "test")
    result = _run()
    assert result["given_up"] == 1
    assert undelivered()[0].error.startswith(dispatch.NOT_SENT)


def test_without_the_console_address_a_card_goes_as_text(staff_app):
    settings.save({"console.url": ""}, "test")
    userid = _member(staff_app)
    with transaction():
        notify(userid, "test:nolink", "新任务", "请跟进", url="/tasks/3")
    _run()
    received = staff_app.control.app_messages(userid)["received"][userid]
    assert received[0]["msgtype"] == "text" and "控制台地址未配置" in received[0]["content"]["content"]
