"""WeCom's callback URL: verification, forged requests, duplicates, out-of-order delivery, the inbox queue."""
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.core import settings
from app.extensions import db
from app import callbacks
from app.wecom import connection, inbox
from app.wecom.handlers import Route
from app.wecom.inbox import CallbackEvent, Status
from scripts.wecom_emulator import crypto, events

CORP = "wwcallbacktest0001"
TOKEN = "cb-token-123"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def configured(app):
    settings.save({"wecom.corp_id": CORP, "wecom.secret": "s", "wecom.token": TOKEN, "wecom.aes_key": AES},
                  "test")
    connection.forget()
    yield
    connection.forget()


def _post(client, xml: str, token: str = TOKEN, tamper: bool = False):
    encrypted = crypto.encrypt(AES, xml, CORP)
    ts, nonce = str(int(time.time())), "n0nce"
    sig = crypto.signature(token, ts, nonce, encrypted)
    if tamper:
        encrypted = encrypted[:-8] + "AAAAAAA="
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
    return client.post(f"/wecom/callback?{query}", data=body.encode())


def _add_event(external="wmEXT1", create_time=1700000000, welcome="WC-1"):
    return events.contact_event(CORP, create_time, "add_external_contact", "zhangsan", external,
                                state="live-0618", welcome_code=welcome)


def _count():
    return db.session.scalar(select(func.count()).select_from(CallbackEvent))


def test_url_verification_answers_the_plain_echostr(client, configured):
    echostr = crypto.encrypt(AES, "echo-4711", CORP)
    ts, nonce = "1700000000", "abc"
    query = urlencode({"msg_signature": crypto.signature(TOKEN, ts, nonce, echostr), "timestamp": ts,
                       "nonce": nonce, "echostr": echostr})
    response = client.get(f"/wecom/callback?{query}")
    assert response.status_code == 200
    assert response.get_data() == b"echo-4711"


def test_verification_with_wrong_signature_is_refused(client, configured):
    echostr = crypto.encrypt(AES, "echo", CORP)
    response = client.get("/wecom/callback?" + urlencode({"msg_signature": "0" * 40, "timestamp": "1",
                                                          "nonce": "n", "echostr": echostr}))
    assert response.status_code == 403 and response.get_data() == b""


def test_event_is_stored_and_acknowledged_with_an_empty_200(client, configured):
    response = _post(client, _add_event())
    assert response.status_code == 200 and response.get_data() == b""
    event = db.session.scalars(select(CallbackEvent)).one()
    assert (event.event, event.change_type, event.status) == ("change_external_contact",
                                                              "add_external_contact", Status.PENDING)
    assert event.payload["WelcomeCode"] == "WC-1" and event.payload["State"] == "live-0618"
    assert event.lane == inbox.LANE_WELCOME


def test_forged_signature_is_refused_and_changes_nothing(client, configured):
    response = _post(client, _add_event(), token="someone-elses-token")
    assert response.status_code == 403
    assert _count() == 0


def test_tampered_body_is_refused_and_changes_nothing(client, configured):
    assert _post(client, _add_event(), tamper=True).status_code == 403
    assert _count() == 0


def test_unconfigured_console_refuses_callbacks(client):
    assert _post(client, _add_event()).status_code == 403
    assert _count() == 0


def test_the_same_event_delivered_three_times_is_handled_once(client, configured, monkeypatch):
    seen = []
    monkeypatch.setitem(callbacks.TABLE, ("change_external_contact", "add_external_contact"),
                        Route(follow_up=(lambda payload: seen.append(payload["ExternalUserID"]),)))
    for _ in range(3):
        assert _post(client, _add_event()).status_code == 200
    assert inbox.work_once() == 1
    assert inbox.work_once() == 0
    assert seen == ["wmEXT1"]
    event = db.session.scalars(select(CallbackEvent)).one()
    db.session.refresh(event)
    assert event.deliveries == 3 and event.status == Status.DONE


def test_out_of_order_events_are_each_kept(client, configured):
    later = events.contact_event(CORP, 1700000100, "del_follow_user", "zhangsan", "wmEXT1")
    assert _post(client, later).status_code == 200
    assert _post(client, _add_event(create_time=1700000000)).status_code == 200
    kinds = db.session.scalars(select(CallbackEvent.change_type).order_by(CallbackEvent.id)).all()
    assert kinds == ["del_follow_user", "add_external_contact"]


def test_welcome_lane_is_claimed_before_older_default_work(client, configured):
    for i in range(3):
        _post(client, events.chat_event(CORP, 1700000000 + i, f"wrCHAT{i}", "dismiss"))
    _post(client, _add_event())
    first = db.session.get(CallbackEvent, inbox.claim(1)[0])
    assert first.change_type == "add_external_contact"


def test_failing_handler_retries_then_dead_letters_and_can_be_replayed(client, configured, monkeypatch,
                                                                       signed_in_as):
    def boom(payload):
        raise RuntimeError("downstream broke")

    monkeypatch.setitem(callbacks.TABLE, ("change_external_tag", "create"), Route(follow_up=(boom,)))
    _post(client, events.tag_event(CORP, 1700000000, "create", "etTAG1", "tag"))
    event_id = db.session.scalar(select(CallbackEvent.id))
    for _ in range(inbox.MAX_ATTEMPTS):
        db.session.execute(db.update(CallbackEvent).values(available_at=inbox.utcnow()))
        db.session.commit()
        inbox.work_once()
    event = db.session.get(CallbackEvent, event_id)
    db.session.refresh(event)
    assert event.status == Status.DEAD and "downstream broke" in event.last_error

    signed_in_as("admin")
    page = client.get("/wecom/events?status=dead").get_data(as_text=True)
    assert "downstream broke" in page and "重放" in page
    from tests.conftest import csrf_token
    client.post(f"/wecom/events/{event_id}/replay", data={"csrf_token": csrf_token(client, "/wecom/events")})
    db.session.refresh(event)
    assert event.status == Status.PENDING and event.attempts == 0


def test_event_without_handler_is_kept_as_ignored(client, configured):
    _post(client, events.event_xml(CORP, "change_contact", 1700000000,
                                   [("ChangeType", "update_user"), ("UserID", "lisi")]))
    inbox.work_once()
    assert db.session.scalar(select(CallbackEvent.status)) == Status.IGNORED


def test_abandoned_claim_is_taken_over_after_its_lease(client, configured):
    _post(client, _add_event())
    [event_id] = inbox.claim(10)
    assert inbox.claim(10) == []
    db.session.execute(db.update(CallbackEvent).values(claimed_until=inbox.utcnow()))
    db.session.commit()
    assert inbox.claim(10) == [event_id]


def test_events_page_is_refused_as_a_page_not_json(client, signed_in_as):
    signed_in_as("operator")
    response = client.get("/wecom/events")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_a_re_add_within_the_same_second_is_a_new_event(client, configured):
    _post(client, _add_event(welcome="WC-first"))
    _post(client, events.contact_event(CORP, 1700000000, "del_follow_user", "zhangsan", "wmEXT1"))
    _post(client, _add_event(welcome="WC-second"))
    _post(client, _add_event(welcome="WC-second"))  # WeCom's retry of the second add
    kinds = db.session.scalars(select(CallbackEvent.change_type).order_by(CallbackEvent.id)).all()
    assert kinds == ["add_external_contact", "del_follow_user", "add_external_contact"]
