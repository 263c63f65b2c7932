"""Signing in and out: success, wrong password, lockout, CSRF and safe redirects."""
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token, sign_in


def _actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_sign_in_shows_chinese_console(client, make_user):
    make_user("operator", username="wang")
    response = sign_in(client, "wang")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "私域运营控制台" in page and "退出" in page
    assert _actions() == ["account.created", "auth.login"]


def test_wrong_password_is_refused_and_audited(client, make_user):
    make_user("operator", username="wang")
    response = sign_in(client, "wang", "not-the-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).one()
    assert entry.target == "wang" and entry.details["reason"] == "bad_password"


def test_unknown_user_gets_the_same_message(client):
    response = sign_in(client, "nobody")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_lockout_after_repeated_failures_even_with_the_right_password(client, make_user, app):
    make_user("operator", username="wang")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, "wang", "wrong-password")
    response = sign_in(client, "wang", PASSWORD)
    assert "账号已锁定" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_form_without_csrf_token_is_rejected(client, make_user):
    make_user("operator", username="wang")
    response = client.post("/auth/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session(client, signed_in_as):
    signed_in_as("operator")
    token = csrf_token(client, "/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    assert _actions()[-1] == "auth.logout"


def test_next_parameter_cannot_leave_the_site(client, make_user):
    make_user("operator", username="wang")
    response = client.post("/auth/login?next=https://evil.example/", data={
        "username": "wang", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_disabled_account_cannot_sign_in(client, make_user):
    user = make_user("operator", username="wang")
    user.is_enabled = False
    db.session.commit()
    assert "账号已停用" in sign_in(client, "wang").get_data(as_text=True)


def test_english_is_available(client, signed_in_as):
    signed_in_as("admin")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Sign out" in page
