"""Issue 13 item 5: a callback that arrives while an import holds the database's write lock is answered 200 and
stored once the lock is gone (spooled meanwhile), never answered 500 and never lost."""
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.extensions import db
from app.wecom import connection, inbox
from app.wecom.inbox import CallbackEvent
from config import TestConfig
from tests.web.test_callbacks import _add_event, _post, configured  # noqa: F401 (fixture)


@contextmanager
def write_lock_held(app):
    """Another connection holds the write lock on the inbox table, as a long import transaction does, until the
    block ends (the test releases it: no timing involved)."""
    held, release = threading.Event(), threading.Event()
    failure = []

    def hold():
        try:
            with app.app_context(), db.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.execute(text("LOCK TABLE wecom_callback_events IN EXCLUSIVE MODE"))
                held.set()
                release.wait(60)
                conn.rollback()
        except Exception as exc:  # pragma: no cover (reported below)
            failure.append(exc)
            held.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(30) and not failure, failure
    try:
        yield
    finally:
        release.set()
        thread.join(30)


def _stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CallbackEvent))


@pytest.fixture
def short_wait(app):
    app.config["CALLBACK_STORE_WAIT_SECONDS"] = 0.2  # the lock is held throughout: the outcome is the same at 3 s


def test_callback_during_a_long_write_is_answered_200_and_stored_after_it(app, client, configured, short_wait):
    with write_lock_held(app):
        response = _post(client, _add_event())
        assert response.status_code == 200 and response.get_data() == b""
    assert _stored() == 0
    assert inbox.drain_spool() == 1  # the worker's loop
    event = db.session.scalars(select(CallbackEvent)).one()
    assert (event.change_type, event.payload["WelcomeCode"], event.lane) == ("add_external_contact", "WC-1",
                                                                              inbox.LANE_WELCOME)
    assert inbox.drain_spool() == 0


def test_wecoms_retry_of_a_spooled_event_is_one_event_and_brings_the_spool_in(app, client, configured, short_wait):
    with write_lock_held(app):
        assert _post(client, _add_event()).status_code == 200
        assert _post(client, _add_event(external="wmEXT2", welcome="WC-2")).status_code == 200
    assert _post(client, _add_event()).status_code == 200  # WeCom's retry, after the lock: stored, spool drained
    rows = db.session.execute(select(CallbackEvent.payload["ExternalUserID"].as_string(), CallbackEvent.deliveries)
                              .order_by(CallbackEvent.id)).all()
    assert sorted(rows) == [("wmEXT1", 2), ("wmEXT2", 1)]
    assert inbox.drain_spool() == 0


def test_a_callback_neither_database_nor_spool_can_take_asks_wecom_to_retry(app, client, configured, short_wait,
                                                                          tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    app.config["CALLBACK_SPOOL_DIR"] = str(blocked)
    with write_lock_held(app):
        response = _post(client, _add_event())
    assert response.status_code == 503
    assert _stored() == 0


def test_a_spooled_file_that_cannot_be_stored_is_set_aside_and_the_rest_go_in(app, client, configured, short_wait):
    spool_dir = Path(app.config["CALLBACK_SPOOL_DIR"])
    with write_lock_held(app):
        assert _post(client, _add_event()).status_code == 200
    (spool_dir / "0-broken.json").write_text('{"received_at": "2026-')  # sorts first
    assert inbox.drain_spool() == 1
    assert _stored() == 1
    assert sorted(p.name for p in spool_dir.iterdir()) == ["0-broken.unstorable"]


def test_a_callback_that_cannot_be_verified_for_want_of_the_database_asks_wecom_to_retry(tmp_path):
    """A process starting while its database is down cannot read the Token and AES key: WeCom must try again."""
    unreachable = f"sqlite:///{tmp_path / 'no-such-directory' / 'scrm.sqlite3'}"
    down = create_app(type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": unreachable,
                                                     "CALLBACK_SPOOL_DIR": str(tmp_path / "spool")}))
    connection.forget()
    try:
        query = urlencode({"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "n"})
        response = down.test_client().post(f"/wecom/callback?{query}", data=b"<xml><Encrypt>x</Encrypt></xml>")
    finally:
        connection.forget()
    assert response.status_code == 503
