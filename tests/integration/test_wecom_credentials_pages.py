"""A Secret WeCom refuses, as the console's users notice it: calls stop asking WeCom, the home page and the settings
page say why and what to do, and saving the new Secret brings everything back at once."""
import pytest
import requests

from app.core import settings
from app.core.audit import record
from app.extensions import db
from app.wecom import connection
from app.wecom.errors import WeComSecretRejected, WeComTokenBlocked
from tests.conftest import csrf_token

REJECTED = "企业微信拒绝了当前 Secret"
BLOCKED = "企业微信已暂时封禁本服务器调用 gettoken"


@pytest.fixture
def console(app, emulator):
    """The console using the emulator as WeCom, with its credentials saved."""
    app.config["WECOM_API_BASE"] = emulator.api_base
    settings.save({"wecom.corp_id": emulator.corp_id, "wecom.secret": emulator.secret}, "test")
    connection.forget()
    yield emulator
    connection.forget()


def page(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def save_secret(client, secret: str) -> str:
    data = {"corp_id": settings.get("wecom.corp_id"), "secret": secret, "agent_id": "", "token": "", "aes_key": "",
            "timezone": "Asia/Shanghai", "receive_rule": "month",
            "csrf_token": csrf_token(client, "/admin/settings")}
    return client.post("/admin/settings", data=data, follow_redirects=True).get_data(as_text=True)


def test_a_reset_secret_stops_gettoken_shows_why_and_recovers_when_the_new_one_is_saved(console, client,
                                                                                      signed_in_as):
    signed_in_as("admin")
    follow_users = connection.gateway().get_follow_user_list()
    assert REJECTED not in page(client, "/")
    new_secret = console.control.reset_secret()           # the admin reset the Secret in WeCom's console
    for _ in range(50):                                   # a worker keeps trying its jobs
        with pytest.raises(WeComSecretRejected):
            connection.gateway().get_follow_user_list()
    assert console.control.call_count("gettoken", 40001) == 1
    home = page(client, "/")
    assert "Secret 被拒绝" in home and REJECTED in home and "CorpID" in home and "已启用" in home
    assert "已暂停" in home and 'href="/admin/settings"' in home
    assert REJECTED in page(client, "/admin/settings")

    assert "已保存 1 项设置" in save_secret(client, new_secret)
    assert REJECTED not in page(client, "/admin/settings") and REJECTED not in page(client, "/")
    assert connection.gateway().get_follow_user_list() == follow_users
    assert console.control.call_count("gettoken", 40001) == 1 and console.control.call_count("gettoken", 0) == 2


def test_everyone_sees_the_refusal_and_testing_the_connection_asks_wecom_again(console, client, signed_in_as):
    settings.save({"wecom.secret": "wrong-secret"}, "test")
    with pytest.raises(WeComSecretRejected):
        connection.gateway().get_follow_user_list()
    signed_in_as("viewer")
    home = page(client, "/")
    assert REJECTED in home and 'href="/admin/settings"' not in home
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    signed_in_as("admin")
    checked = client.post("/admin/settings/check", data={"csrf_token": csrf_token(client, "/admin/settings")},
                          follow_redirects=True).get_data(as_text=True)
    assert "连接失败" in checked and "40001" in checked
    assert console.control.call_count("gettoken", 40001) == 2   # the operator's test asked; workers did not


def test_a_blocked_ip_is_shown_with_when_it_lifts(console, client, signed_in_as):
    console.control.config(gettoken_block_threshold=3)
    for _ in range(3):                                    # another program on this server with a wrong secret
        requests.get(console.api_base + "gettoken", params={"corpid": console.corp_id, "corpsecret": "x"}, timeout=10)
    with pytest.raises(WeComTokenBlocked):
        connection.gateway().get_follow_user_list()
    assert console.control.call_count("gettoken", 45009) == 1
    signed_in_as("admin")
    home = page(client, "/")
    assert "调用被封禁" in home and BLOCKED in home and "约 1 小时后自动解除" in home
    assert BLOCKED in page(client, "/admin/settings")


def test_a_refusal_met_inside_an_unfinished_write_is_stored_once_that_transaction_ends(console):
    settings.save({"wecom.secret": "wrong-secret"}, "test")
    record("test.write", target="before the call")     # on SQLite this session now holds the write lock
    db.session.flush()
    with pytest.raises(WeComSecretRejected):
        connection.gateway().get_follow_user_list()
    db.session.rollback()                               # what a failing job does
    problem = connection.credentials_problem()
    assert problem is not None and problem.errcode == 40001
