"""The welcome pages as an operator uses them: templates with preview, channels through WeCom, the report."""
import pytest
from sqlalchemy import select

from app.contacts.directory import sync_directory
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.wecom import connection, inbox
from app.welcome.models import Channel, WelcomeRecord, WelcomeTemplate
from tests.conftest import csrf_token
from tests.integration.test_welcome_send import add, work


@pytest.fixture
def operator(wired, client, signed_in_as):
    with transaction():
        sync_directory(connection.gateway(), utcnow())
    signed_in_as("operator")
    return client


def post(client, url, **form):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **form}, follow_redirects=True)


def test_only_welcome_managers_see_the_pages(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/welcome/").status_code == 403
    assert client.get("/welcome/channels").status_code == 403


def test_template_editor_refuses_unknown_variables_previews_and_saves(operator):
    page = post(operator, "/welcome/templates/new", name="默认", scope="default", text="你好 {名字}", enabled="1",
                action="save").get_data(as_text=True)
    assert "没有保存" in page and "未知变量 {名字}" in page
    assert db.session.scalar(select(WelcomeTemplate)) is None
    form = {"name": "默认", "scope": "default", "text": "{客户昵称}你好，我是{员工姓名}", "enabled": "1",
            "att-0-msgtype": "link", "att-0-link-title": "新人礼", "att-0-link-url": "https://shop.example/gift"}
    preview = post(operator, "/welcome/templates/new", action="preview", **form).get_data(as_text=True)
    assert "王芳你好，我是李雷" in preview and "新人礼" in preview
    saved = post(operator, "/welcome/templates/new", action="save", **form).get_data(as_text=True)
    assert "已保存" in saved and "默认" in saved
    template = db.session.scalar(select(WelcomeTemplate))
    assert template.attachments == [{"msgtype": "link", "link": {"title": "新人礼", "url": "https://shop.example/gift"}}]


def test_channel_pages_create_edit_delete_in_wecom(operator, wired, wecom):
    userid = sorted(connection.gateway().get_follow_user_list())[0]
    page = post(operator, "/welcome/channels/new", name="直播间", state="live-0618", userids=userid,
                skip_verify="1").get_data(as_text=True)
    assert "已在企业微信创建" in page and "wwpic" in page  # the QR code link is shown
    channel = db.session.scalar(select(Channel))
    _, way = wecom.post("externalcontact/get_contact_way", {"config_id": channel.config_id})
    assert way["contact_way"]["state"] == "live-0618"
    taken = post(operator, "/welcome/channels/new", name="另一个", state="live-0618", userids=userid)
    assert "这个渠道标识已被另一个渠道使用" in taken.get_data(as_text=True)
    post(operator, f"/welcome/channels/{channel.id}", name="直播间", state="live-0619", userids=userid)
    _, way = wecom.post("externalcontact/get_contact_way", {"config_id": channel.config_id})
    assert way["contact_way"]["state"] == "live-0619"
    add(wired, config_id=channel.config_id)
    work()
    listing = operator.get("/welcome/channels").get_data(as_text=True)
    assert "直播间" in listing and 'data-adds>1<' in listing
    gone = post(operator, f"/welcome/channels/{channel.id}/delete").get_data(as_text=True)
    assert "已删除" in gone
    _, way = wecom.post("externalcontact/get_contact_way", {"config_id": channel.config_id})
    assert way["errcode"] == 41044


def test_report_shows_outcomes_latency_and_joins(operator, wired):
    userid = sorted(connection.gateway().get_follow_user_list())[0]
    post(operator, "/welcome/templates/new", name="默认", scope="default", text="欢迎", enabled="1", action="save")
    greeted = add(wired, userid=userid, name="赵敏")["external_userid"]
    customer = add(wired, userid=userid, welcome_code=False)["external_userid"]
    group = wired.control.post("simulate/group_create", owner=userid)
    wired.control.post("simulate/group_join", chat_id=group["chat_id"], members=[customer], join_scene=3)
    wired.control.wait_deliveries(4)
    work()
    assert db.session.scalar(select(inbox.CallbackEvent.status).where(inbox.CallbackEvent.status != "done")) is None
    page = operator.get("/welcome/").get_data(as_text=True)
    assert 'data-total="sent">1<' in page and 'data-total="skipped">1<' in page
    assert "没有 WelcomeCode" in page and "data-p99" in page and "welcome-latency" in page
    assert 'data-joins' in page
    assert f'赵敏</a>\n      <div class="mono small text-muted">{greeted[:12]}…' in page  # recent adds: name, then id
    csv = operator.get("/welcome/records.csv?days=7").get_data(as_text=True)
    assert csv.count("\n") == 3 and "已发送" in csv
    received = db.session.scalars(select(WelcomeRecord.received_at)).all()
    assert {line.split(",")[0] for line in csv.strip().splitlines()[1:]} == {  # corp-local, as Excel reads a time
        r.astimezone(settings.corp_timezone()).strftime("%Y-%m-%d %H:%M") for r in received}
