"""WeCom (the emulator) delivers real encrypted callbacks to the running console; the inbox keeps each once."""
import time

from sqlalchemy import func, select

from app.core import settings
from app.extensions import db
from app.wecom import connection, inbox
from app.wecom.inbox import CallbackEvent
from tests.conftest import csrf_token


def _a_follower() -> str:
    return connection.gateway().get_follow_user_list()[0]


def _wait_delivered(emulator, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = emulator.control.get("deliveries")["deliveries"]
        if len([r for r in records if r["status"] != "pending"]) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} deliveries finished in {timeout}s")


def test_wecom_url_verification_succeeds(wired, live_server):
    result = wired.control.post("verify_url", url=f"{live_server}/wecom/callback")
    assert result["ok"] is True, result


def test_customer_add_arrives_once_even_when_delivered_twice(wired):
    wired.control.config(duplicate_delivery=True)
    added = wired.control.add_customer(userid=_a_follower(), state="live-0618")
    records = _wait_delivered(wired, 2)
    assert [a["http_status"] for r in records for a in r["attempts"]] == [200, 200]
    event = db.session.scalars(select(CallbackEvent)).one()
    assert event.payload["ExternalUserID"] == added["external_userid"]
    assert event.payload["WelcomeCode"] == added["welcome_code"]
    assert event.deliveries == 2
    assert inbox.work_once() == 1 and inbox.work_once() == 0


def test_console_with_wrong_token_refuses_and_wecom_retries(wired):
    follower = _a_follower()
    settings.save({"wecom.token": "not-the-emulators-token"}, "test")
    connection.forget()
    wired.control.config(callback_attempts=3)
    wired.control.add_customer(userid=follower)
    [record] = _wait_delivered(wired, 1)
    assert [a["http_status"] for a in record["attempts"]] == [403, 403, 403]
    assert db.session.scalar(select(func.count()).select_from(CallbackEvent)) == 0


def test_settings_page_connection_check_against_wecom(wired, client, signed_in_as):
    signed_in_as("admin")
    ok = client.post("/admin/settings/check", data={"csrf_token": csrf_token(client, "/admin/settings")},
                     follow_redirects=True)
    assert "连接成功" in ok.get_data(as_text=True)
    settings.save({"wecom.secret": "wrong-secret"}, "test")
    connection.forget()
    bad = client.post("/admin/settings/check", data={"csrf_token": csrf_token(client, "/admin/settings")},
                      follow_redirects=True)
    page = bad.get_data(as_text=True)
    assert "连接失败" in page and "40001" in page
