"""What an approver and an operator read on the push pages: the audience in sentences with its count, the changes
since the approved version, a dry run at the scheduled time, customers and groups picked by name, the group push
form without the 1:1-only options, and library media instead of typed media_ids."""
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.campaigns.policy import policies
from app.campaigns.models import Campaign
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Department, FollowRelation, Staff
from app.tags.models import CorpTag, CorpTagGroup
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.media import service as media
from app.segments import service as segments
from tests.conftest import sign_in, wait_for_push_work
from tests.web.test_campaign_pages import FORM, create, post

PNG = b"\x89PNG\r\n\x1a\n" + b"\1" * 300


@pytest.fixture
def company(app):
    db.session.add_all([
        Department(id=2, name="华东销售部", parent_id=1), Department(id=3, name="华南销售部", parent_id=1),
        Staff(userid="zhangwei1", name="张伟", department_ids=[2], main_department=2, status=1, is_follow_user=True),
        Staff(userid="zhangwei2", name="张伟", department_ids=[3], main_department=3, status=1, is_follow_user=True),
        Staff(userid="bob", name="Bob", status=1, is_follow_user=True),
        CorpTagGroup(group_id="g1", name="客户等级"), CorpTag(tag_id="etVIP", group_id="g1", name="VIP"),
    ])
    for i in range(12):
        db.session.add(Customer(external_userid=f"wm{i:03d}", name=f"客户{i}"))
        db.session.add(FollowRelation(userid="zhangwei1" if i % 2 else "bob", external_userid=f"wm{i:03d}",
                                      added_at=utcnow() - timedelta(days=10), tag_ids=["etVIP"] if i < 4 else []))
    db.session.add(Customer(external_userid="wm-lin", name="林小雨"))
    db.session.add(FollowRelation(userid="bob", external_userid="wm-lin", added_at=utcnow()))
    db.session.add_all([CustomerGroup(chat_id="wr-vip", name="VIP 福利群", owner="zhangwei1"),
                        CustomerGroup(chat_id="wr-new", name="新人群", owner="bob")])
    db.session.flush()
    db.session.add_all([CustomerGroupMember(chat_id="wr-vip", userid="wm000", type=2),
                        CustomerGroupMember(chat_id="wr-vip", userid="wm002", type=2),
                        CustomerGroupMember(chat_id="wr-new", userid="wm005", type=2)])
    db.session.commit()


@pytest.fixture(autouse=True)
def no_quiet_hours(app):
    policies.save({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")


def as_user(client, make_user, role, name):
    client.get("/auth/logout")
    user = make_user(role, name)
    sign_in(client, user.username)
    return user


def test_an_approver_reads_the_audience_its_count_and_what_changed_since_they_approved(client, signed_in_as,
                                                                                     company, make_user):
    policies.save({"approval_threshold": 2}, "test")
    segment = segments.create_segment("VIP 老客", "", {"op": "and", "rules": [
        {"field": "tags", "operator": "any", "value": ["etVIP"]},
        {"field": "added", "operator": "within", "value": {"days": 30}}]}, "test")
    signed_in_as("operator")
    campaign = create(client, audience="segment", segment_id=str(segment.id), holdout_percent="0",
                      text="本周会员日，全场 9 折")
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    as_user(client, make_user, "supervisor", "boss")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "人群「VIP 老客」" in page and "同时满足以下全部条件" in page
    assert "带有标签 「VIP」 中的任意一个" in page and "最近 30 天内添加" in page
    assert "试算（第 1 版）：目标 4，将发送 4" in page  # the four VIP customers
    assert 'id="changes"' not in page  # nothing approved before
    post(client, f"/campaigns/{campaign.id}/decide", {"decision": "approve", "version": "1"})
    wait_for_push_work()

    as_user(client, make_user, "operator", "op2")
    assert post(client, f"/campaigns/{campaign.id}/edit", {**FORM, "audience": "segment", "segment_id": str(segment.id),
                                                           "holdout_percent": "0", "text": "本周会员日，全场 8 折"}
                ).status_code == 302
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    sign_in(client, "boss")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "与第 1 版（boss 于" in page
    changes = page[page.index('id="changes"'):page.index('id="audience"')]
    assert "<del>本周会员日，全场 9 折</del>" in changes and "<ins>本周会员日，全场 8 折</ins>" in changes
    assert "发送时间" not in changes  # only what changed is listed


def test_the_dry_run_plans_for_the_scheduled_time_with_its_quiet_hours(client, signed_in_as, company):
    policies.save({"quiet_hours": {"start": "22:00", "end": "08:00"}}, "test")
    tz = settings.corp_timezone()
    tomorrow = (utcnow().astimezone(tz) + timedelta(days=1)).date()
    at = datetime.combine(tomorrow, datetime.min.time(), tz).replace(hour=23, minute=30)
    signed_in_as("operator")
    campaign = create(client, schedule_kind="at", run_at=at.strftime("%Y-%m-%dT%H:%M"))
    post(client, f"/campaigns/{campaign.id}/preview")  # 开始试算: a GET starts nothing
    wait_for_push_work()
    html = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert f"试算的发送时间：{at.strftime('%Y-%m-%d %H:%M')}" in html
    morning = (at + timedelta(days=1)).replace(hour=8, minute=0)
    assert f"将在 {morning.strftime('%Y-%m-%d %H:%M')} 之后才交给成员发送" in html  # quiet hours of that night


def test_test_send_and_do_not_disturb_find_a_customer_by_name(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'data-picker-url="/contacts/pick/customers"' in page and 'data-picker-param-staff="#test-sender"' in page
    assert 'placeholder="测试客户 external_userid"' not in page
    found = client.get("/contacts/pick/customers?q=小雨").json["results"]
    assert [(r["value"], r["label"]) for r in found] == [("wm-lin", "林小雨")]
    assert client.get("/contacts/pick/customers?q=小雨&staff=zhangwei1").json["results"] == []  # not theirs
    assert 'data-picker-url="/contacts/pick/customers"' in client.get("/campaigns/opt-outs").get_data(as_text=True)
    post(client, "/campaigns/opt-outs", {"external_userid": found[0]["value"], "reason": "电话要求"})
    assert "林小雨" in client.get("/campaigns/opt-outs").get_data(as_text=True)


def test_a_group_push_offers_group_pickers_and_hides_the_one_to_one_options(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client, chat_type="group", group_owners="zhangwei1", text="群友福利")
    html = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'data-picker-url="/contacts/pick/groups"' in html and 'data-picker-param-tag="#gf-tag"' in html
    assert 'data-picker-param-min="#gf-min"' in html and 'data-picker-param-owner="#gf-owner"' in html
    assert html.count('data-only="single" hidden') == 3  # the audience, the "latest staff" rule, the holdout
    assert 'data-only="group" hidden' not in html
    assert "张伟（华东销售部 · zhangwei1）" in html  # the chosen owner, told apart from the other 张伟
    assert 'data-insert="{客户昵称}"' not in html
    groups = client.get("/contacts/pick/groups?tag=etVIP").json["results"]
    assert [g["label"] for g in groups] == ["VIP 福利群"]
    assert [g["label"] for g in client.get("/contacts/pick/groups?min=2").json["results"]] == ["VIP 福利群"]
    assert [g["label"] for g in client.get("/contacts/pick/groups?q=新人&max=1").json["results"]] == ["新人群"]
    assert client.get("/contacts/pick/groups?owner=bob&tag=etVIP").json["results"] == []
    response = post(client, f"/campaigns/{campaign.id}/edit", {**FORM, "chat_type": "group", "text": "群友福利",
                                                                "group_chat_ids": ["wr-vip", "wr-new"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).group_filter["chat_ids"] == ["wr-vip", "wr-new"]
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "「VIP 福利群」、「新人群」" in detail


def test_a_push_attaches_library_media_and_covers_never_a_typed_media_id(client, signed_in_as, company):
    signed_in_as("operator")
    poster = media.add("image", "双十二海报", "poster.png", PNG, "operator")
    html = client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="library"' in html and "双十二海报" in html
    assert "media_id" not in html.replace("pic_library_id", "").replace("picurl_library_id", "")
    campaign = create(client, library=f"image-{poster.id}", **{
        "att-0-msgtype": "miniprogram", "att-0-miniprogram-title": "会员中心", "att-0-miniprogram-appid": "wx123",
        "att-0-miniprogram-page": "pages/vip", "att-0-miniprogram-pic_library_id": str(poster.id)})
    assert campaign.content["attachments"] == [
        {"msgtype": "miniprogram", "miniprogram": {"pic_library_id": poster.id, "title": "会员中心", "appid": "wx123",
                                                   "page": "pages/vip"}},
        {"msgtype": "image", "image": {"library_id": poster.id}}]
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'src="/media/{poster.id}/file"' in detail or f"/media/{poster.id}" in detail
    bad = post(client, "/campaigns/new", {**FORM, "library": "image-999"})
    assert bad.status_code == 422 and "素材库里已没有所选的素材（编号 999）" in bad.get_data(as_text=True)
    with pytest.raises(media.MediaInvalid, match="群发"):
        media.delete(poster)  # in use by a push that may still send


def test_channels_show_their_names_in_the_customer_list_page_and_export(client, signed_in_as, company):
    from app.welcome.models import Channel

    db.session.add(Channel(name="门店海报", config_id="cfg-1", state="store-poster"))
    rel = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == "wm-lin"))
    rel.state = "store-poster"
    db.session.commit()
    signed_in_as("operator")
    listing = client.get("/contacts/?q=林小雨").get_data(as_text=True)
    assert '<option value="store-poster" >门店海报</option>' in listing  # the filter is a picker of channels
    assert 'name="state" id="state" value=' not in listing
    assert ">门店海报</span>" in listing
    assert "门店海报" in client.get("/contacts/wm-lin").get_data(as_text=True)
    assert "渠道 门店海报（store-poster）" in client.get("/contacts/wm-lin").get_data(as_text=True)
    export = client.get("/contacts/export?format=csv&state=store-poster").get_data(as_text=True)
    assert "渠道,渠道 state" in export and "门店海报,store-poster" in export
    assert [c["label"] for c in client.get("/contacts/pick/channels?q=门店").json["results"]] == ["门店海报"]


def test_same_named_staff_are_told_apart(client, signed_in_as, company):
    signed_in_as("operator")
    listing = client.get("/contacts/").get_data(as_text=True)
    assert "张伟（华东销售部 · zhangwei1）" in listing and "张伟（华南销售部 · zhangwei2）" not in listing
    assert {s["label"] for s in client.get("/contacts/pick/staff?q=张伟").json["results"]} == {
        "张伟（华东销售部 · zhangwei1）", "张伟（华南销售部 · zhangwei2）"}
    assert "Bob" in listing and "Bob（" not in listing  # a unique name stays as it is


def test_the_audit_log_shows_chinese_not_escapes(client, signed_in_as, company):
    signed_in_as("operator")
    create(client, name="周末上新")
    client.get("/auth/logout")
    signed_in_as("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert '"name": "周末上新"' in html.replace("&#34;", '"') and "\\u5468" not in html
    export = client.get("/admin/audit.csv").get_data(as_text=True)
    assert json.dumps("周末上新", ensure_ascii=False) in export.replace('""', '"')
