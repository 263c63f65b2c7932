"""Administration pages: settings with secrets, accounts and roles, API tokens, the audit log."""
import logging

from sqlalchemy import select

from app.core import settings
from app.core.accounts import User, find_user
from app.core.audit import AuditEntry
from app.extensions import db
from tests.conftest import csrf_token

SECRET = "s3cr3t-value-that-must-not-leak-0123"
AES = "a" * 43


def _save_settings(client, **overrides):
    data = {"corp_id": "ww123", "secret": SECRET, "agent_id": "1000002", "token": "tok-xyz-1",
            "aes_key": AES, "timezone": "Asia/Shanghai", "receive_rule": "week"}
    data.update(overrides)
    data["csrf_token"] = csrf_token(client, "/admin/settings")
    return client.post("/admin/settings", data=data, follow_redirects=True)


def test_settings_are_saved_and_secrets_never_shown_in_full(client, signed_in_as, caplog):
    signed_in_as("admin")
    with caplog.at_level(logging.DEBUG):
        response = _save_settings(client)
    assert "已保存 6 项设置" in response.get_data(as_text=True)
    assert settings.get("wecom.secret") == SECRET
    assert settings.get("wecom.receive_rule") == "week"
    page = client.get("/admin/settings").get_data(as_text=True)
    assert SECRET not in page and "0123" in page
    stored = db.session.get(settings.Setting, "wecom.secret").value
    assert SECRET not in stored
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.changed")).one()
    assert SECRET not in str(entry.details) and entry.details["wecom.secret"] == "(secret)"
    assert SECRET not in caplog.text


def test_blank_secret_keeps_the_stored_one(client, signed_in_as):
    signed_in_as("admin")
    _save_settings(client)
    _save_settings(client, secret="", agent_id="1000003")
    assert settings.get("wecom.secret") == SECRET
    assert settings.get("wecom.agent_id") == "1000003"


def test_invalid_settings_change_nothing(client, signed_in_as):
    signed_in_as("admin")
    response = _save_settings(client, timezone="Mars/Olympus")
    assert "时区" in response.get_data(as_text=True)
    assert db.session.scalars(select(settings.Setting)).all() == []


def test_admin_creates_account_and_changes_its_role(client, signed_in_as):
    signed_in_as("admin")
    client.post("/admin/users", data={"username": "li", "display_name": "李娜", "role": "operator",
                                      "wecom_userid": "LiNa", "password": "long-enough-pw",
                                      "csrf_token": csrf_token(client, "/admin/users")})
    user = find_user("li")
    assert user.role == "operator" and user.wecom_userid == "LiNa"
    client.post(f"/admin/users/{user.id}", data={"display_name": "李娜", "role": "supervisor",
                                                 "wecom_userid": "LiNa", "is_enabled": "y",
                                                 "csrf_token": csrf_token(client, f"/admin/users/{user.id}")})
    db.session.refresh(user)
    assert user.role == "supervisor"
    change = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.role_changed")).one()
    assert change.details == {"from": "operator", "to": "supervisor"} and change.target == "li"


def test_duplicate_username_is_refused_clearly(client, signed_in_as, make_user):
    signed_in_as("admin")
    make_user("viewer", username="li")
    response = client.post("/admin/users", data={"username": "LI", "role": "operator",
                                                 "password": "long-enough-pw",
                                                 "csrf_token": csrf_token(client, "/admin/users")})
    assert "用户名 LI 已存在" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 2


def test_refusals_are_explained_in_the_readers_language(client, signed_in_as, make_user):
    signed_in_as("admin")
    make_user("viewer", username="li")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    response = client.post("/admin/users", data={"username": "li", "role": "operator",
                                                 "password": "long-enough-pw",
                                                 "csrf_token": csrf_token(client, "/admin/users")})
    assert "The username li already exists" in response.get_data(as_text=True)


def test_admin_cannot_demote_themselves(client, signed_in_as):
    me = signed_in_as("admin")
    response = client.post(f"/admin/users/{me.id}", data={
        "display_name": "x", "role": "viewer", "is_enabled": "y",
        "csrf_token": csrf_token(client, f"/admin/users/{me.id}")})
    assert "不能修改自己的角色" in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == "admin"


def test_token_is_shown_once_and_stored_hashed(client, signed_in_as):
    signed_in_as("admin")
    response = client.post("/admin/tokens", data={"name": "商城", "role": "operator",
                                                  "csrf_token": csrf_token(client, "/admin/tokens")})
    page = response.get_data(as_text=True)
    raw = page.split('id="issued-token">')[1].split("<")[0]
    assert raw.startswith("scrm_")
    assert raw not in client.get("/admin/tokens").get_data(as_text=True)
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200 and api.json["role"] == "operator"


def test_audit_log_filters_and_export_is_audited(client, signed_in_as):
    signed_in_as("admin")
    page = client.get("/admin/audit?action=auth.login").get_data(as_text=True)
    assert '<span class="mono small text-muted">auth.login</span>' in page
    assert '<span class="mono small text-muted">account.created</span>' not in page
    export = client.get("/admin/audit.csv?action=auth.")
    assert export.status_code == 200
    assert export.get_data(as_text=True).startswith("\ufeff时间,操作人")
    assert db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first().action == "audit.exported"


def test_audit_rows_cannot_be_changed(app, make_user):
    import pytest

    from app.core.audit import AuditLogIsAppendOnly
    make_user("viewer")
    entry = db.session.scalars(select(AuditEntry)).first()
    entry.action = "tampered"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
