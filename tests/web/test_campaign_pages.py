"""Push pages: the editor with its checks, dry run, submit and approval per role, runs, settings, do-not-disturb."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.policy import policies
from app.campaigns.models import Campaign, CampaignCheck, CampaignRun
from app.contacts.models import Customer, FollowRelation, Staff
from app.core.db import utcnow
from app.extensions import db
from app.sending.models import Delivery
from tests.conftest import csrf_token, sign_in, wait_for_push_work

FORM = {"name": "周末上新", "category": "content", "chat_type": "single", "audience": "rule",
        "audience_rule": '{"op": "and", "rules": []}', "text": "{员工姓名} 为您推荐本周新品",
        "schedule_kind": "now", "holdout_percent": "10", "attribution_days": "3", "split_a": "50"}


@pytest.fixture
def company(app):
    db.session.add_all([Staff(userid="alice", name="Alice", status=1), Staff(userid="bob", name="Bob", status=1)])
    for i in range(12):
        db.session.add(Customer(external_userid=f"wm{i:03d}", name=f"客户{i}"))
        db.session.add(FollowRelation(userid="alice" if i % 2 else "bob", external_userid=f"wm{i:03d}",
                                      added_at=utcnow() - timedelta(days=10)))
    db.session.commit()


@pytest.fixture(autouse=True)
def no_quiet_hours(app):
    policies.save({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")


def post(client, url, data=None):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, "/campaigns/")})


def create(client, **changes) -> Campaign:
    response = post(client, "/campaigns/new", {**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()


def test_the_nav_item_leads_to_the_list_and_an_empty_state(client, signed_in_as):
    signed_in_as("operator")
    html = client.get("/campaigns/").get_data(as_text=True)
    assert 'href="/campaigns/"' in html and "还没有群发" in html


def test_sensitive_words_block_the_save_and_are_highlighted(client, signed_in_as, company, word_library):
    signed_in_as("operator")
    response = post(client, "/campaigns/new", {**FORM, "text": "全网第一的好货，稳赚不赔"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "含敏感词" in html and '<mark class="bg-danger text-white">全网第一</mark>' in html
    assert '<mark class="bg-danger text-white">稳赚</mark>' in html
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_content_limits_are_reported(client, signed_in_as, company):
    signed_in_as("operator")
    html = post(client, "/campaigns/new", {**FORM, "text": "好" * 1400, "att-0-msgtype": "link",
                                           "att-0-link-title": "新品", "att-0-link-url": "ftp://x"}).get_data(as_text=True)
    assert "文字最多 4000 字节" in html and "第 1 个附件的「链接地址」要以 http:// 或 https:// 开头" in html
    assert 'value="ftp://x"' in html  # the operator's attachment is shown again to be corrected


def test_push_editor_offers_only_the_variable_wecom_can_fill(client, signed_in_as, company):
    signed_in_as("operator")
    html = client.get("/campaigns/new").get_data(as_text=True)
    assert 'data-insert="{员工姓名}"' in html and 'data-insert="{客户昵称}"' not in html
    assert "所以这里没有 {客户昵称}" in html
    html = post(client, "/campaigns/new", {**FORM, "text": "{staff_name} 为您推荐"}).get_data(as_text=True)
    assert "未知变量 {staff_name}：可用的变量有 {员工姓名}" in html


def test_a_push_naming_the_customer_is_refused_with_what_customers_would_read(client, signed_in_as, company):
    signed_in_as("operator")
    response = post(client, "/campaigns/new", {**FORM, "text": "{客户昵称}您好，我是{员工姓名}"})
    assert response.status_code == 422
    assert "客户看到的是「您您好，我是Alice」" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_an_old_draft_naming_the_customer_is_flagged_and_cannot_be_submitted(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    campaign.content = {"text": "{客户昵称}您好，我是{员工姓名}", "attachments": []}  # saved before the rule
    db.session.commit()
    for page in (f"/campaigns/{campaign.id}", f"/campaigns/{campaign.id}/edit"):
        html = client.get(page).get_data(as_text=True)
        assert 'id="unfillable"' in html and "客户看到的是「您您好，我是Alice」" in html, page
    post(client, f"/campaigns/{campaign.id}/submit")
    html = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "群发不能用 {客户昵称}" in html
    assert db.session.get(Campaign, campaign.id).status == "draft"
    assert db.session.scalar(select(func.count()).select_from(CampaignCheck)) == 0


def test_push_content_errors_are_translated(client, signed_in_as, company):
    signed_in_as("operator")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    html = post(client, "/campaigns/new", {**FORM, "att-0-msgtype": "link",
                                           "att-0-link-title": "新品"}).get_data(as_text=True)
    assert "Attachment 1 is missing “Link URL”" in html and "缺少" not in html


def test_editor_field_errors_are_translated(client, signed_in_as, company, word_library):
    signed_in_as("operator")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    response = post(client, "/campaigns/new", {**FORM, "name": "", "holdout_percent": "80",
                                               "text": "全网第一的好货", "schedule_kind": "daily",
                                               "time_of_day": "25:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Holdout share must be a whole number from 0 to 50" in html
    assert "Contains sensitive words: 全网第一" in html
    assert "Time “25:00” must be HH:MM" in html
    assert "须是" not in html and "敏感词：" not in html and "格式应为" not in html


def test_dry_run_shows_recipients_skips_and_tasks(client, signed_in_as, company):
    signed_in_as("operator")
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == "wm003"))
    customer.lost_at = utcnow()
    db.session.commit()
    campaign = create(client, holdout_percent="0")
    first = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert "开始试算" in first and db.session.scalar(select(func.count()).select_from(CampaignCheck)) == 0  # GET: none
    assert post(client, f"/campaigns/{campaign.id}/preview").status_code == 302
    asked = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert 'id="check-running"' in asked and 'data-progress-url="/jobs/' in asked  # computed off the request
    wait_for_push_work()
    html = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert '<div class="fs-4 text-primary" id="recipients">11</div>' in html
    assert "已流失" in html and "客户3" in html
    assert "Alice" in html and "Bob" in html
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignCheck)) == 1  # shown again, not recomputed
    # asked again after a change of data: a new check with the new numbers
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == "wm004"))
    customer.lost_at = utcnow()
    db.session.commit()
    assert post(client, f"/campaigns/{campaign.id}/preview").status_code == 302
    wait_for_push_work()
    html = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert '<div class="fs-4 text-primary" id="recipients">10</div>' in html


def test_check_progress_is_polled_as_json(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    post(client, f"/campaigns/{campaign.id}/preview")
    page = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    url = re.search(r'data-progress-url="(/jobs/\d+/progress)"', page).group(1)
    waiting = client.get(url).json
    assert waiting["state"] == "queued" and waiting["active"] and waiting["percent"] is None
    wait_for_push_work()
    progress = client.get(url).json
    assert progress["state"] == "succeeded" and not progress["active"] and progress["seconds"] >= 0
    assert db.session.scalars(select(CampaignCheck)).one().status == "done"
    assert client.get("/jobs/999/progress").status_code == 404


def test_small_send_is_approved_at_once_and_runs(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    response = post(client, f"/campaigns/{campaign.id}/submit")
    assert response.status_code == 302
    waiting = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "已提交，正在计算发送人数" in waiting
    wait_for_push_work()
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.is_approved and campaign.approved_by == "system" and campaign.status == "running"
    run = db.session.scalar(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id))
    assert run.status == "planned" and run.counts["planned"] + run.counts["holdout"] == 12
    html = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "低于阈值自动通过" in html and "已规划" in html


def test_run_now_plans_a_new_run_off_the_request(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    first = db.session.scalar(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id))
    first.status, first.scheduled_for = "finished", first.scheduled_for - timedelta(minutes=5)  # an earlier run
    db.session.commit()
    assert post(client, f"/campaigns/{campaign.id}/run").status_code == 302
    wait_for_push_work()
    runs = db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id)
                              .order_by(CampaignRun.id)).all()
    assert [(r.kind, r.status) for r in runs] == [("scheduled", "finished"), ("manual", "planned")]
    assert runs[1].counts["planned"] + runs[1].counts["holdout"] == 12


def test_large_send_waits_for_a_supervisor_and_edits_reset_the_approval(client, signed_in_as, company, make_user):
    policies.save({"approval_threshold": 5}, "test")
    operator = signed_in_as("operator")
    campaign = create(client)
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    assert db.session.get(Campaign, campaign.id).status == "pending_approval"
    assert db.session.scalar(select(func.count()).select_from(CampaignRun)) == 0
    # an operator may not approve
    assert post(client, f"/campaigns/{campaign.id}/decide", {"decision": "approve", "version": "1"}).status_code == 403
    assert client.get("/campaigns/approvals").status_code == 403
    # a supervisor approves the version they saw
    supervisor = make_user("supervisor", "boss")
    client.get("/auth/logout")
    sign_in(client, supervisor.username)
    assert "周末上新" in client.get("/campaigns/approvals").get_data(as_text=True)
    assert post(client, f"/campaigns/{campaign.id}/decide", {"decision": "approve", "version": "1"}).status_code == 302
    wait_for_push_work()
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.approved_by == "boss" and campaign.status == "running"
    # the operator edits: back to draft, version 2 unapproved
    client.get("/auth/logout")
    sign_in(client, operator.username)
    assert post(client, f"/campaigns/{campaign.id}/edit", {**FORM, "text": "改过的文字"}).status_code == 302
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert (campaign.version, campaign.status, campaign.is_approved) == (2, "draft", False)


def test_an_approval_of_an_outdated_version_is_refused(client, signed_in_as, company):
    from app.campaigns.approval import approvals
    from app.core.accounts import User

    policies.save({"approval_threshold": 5}, "test")
    signed_in_as("admin")
    campaign = create(client)
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    admin = db.session.scalar(select(User).where(User.username == "admin-user"))
    with pytest.raises(approvals.ApprovalError, match="又被修改"):
        approvals.approve(db.session.get(Campaign, campaign.id), admin.username, admin.can("campaigns.approve"), 0)


def test_viewer_sees_but_cannot_create(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/campaigns/").status_code == 200
    assert client.get("/campaigns/new").status_code == 403


def test_test_send_creates_one_delivery_to_the_staff_members_customer(client, signed_in_as, company):
    signed_in_as("operator")
    campaign = create(client)
    html = post(client, f"/campaigns/{campaign.id}/test", {"sender": "alice", "external_userid": "wm000"})
    assert html.status_code == 302
    assert "不是成员 alice 的客户" in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    post(client, f"/campaigns/{campaign.id}/test", {"sender": "alice", "external_userid": "wm001"})
    run = db.session.scalar(select(CampaignRun).where(CampaignRun.kind == "test"))
    assert run.status == "planned" and run.test_target == {"sender": "alice", "external_userid": "wm001"}
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_policies_page_saves_rules_for_admins_only(client, signed_in_as):
    signed_in_as("operator")
    assert client.get("/campaigns/settings").status_code == 403
    client.get("/auth/logout")
    signed_in_as("admin")
    data = {"cap0_key": "promotion_daily", "cap0_max": "1", "cap0_days": "1", "cap0_chat_type": "single",
            "cap0_category": "promotion", "cap1_key": "group_week", "cap1_max": "2", "cap1_days": "7",
            "cap1_chat_type": "group", "quiet_start": "22:00", "quiet_end": "08:30",
            "approval_threshold": "500", "misfire_minutes": "15"}
    assert post(client, "/campaigns/settings", data).status_code == 302
    current = policies.current()
    assert [r.key for r in current.cap_rules] == ["promotion_daily", "group_week"]
    assert current.quiet.start.hour == 22 and current.approval_threshold == 500
    bad = post(client, "/campaigns/settings", {**data, "cap1_days": "0"}).get_data(as_text=True)
    assert "天数须在" in bad


def test_opt_out_list_add_and_remove(client, signed_in_as, company):
    signed_in_as("operator")
    post(client, "/campaigns/opt-outs", {"external_userid": "wm002", "reason": "电话要求"})
    html = client.get("/campaigns/opt-outs").get_data(as_text=True)
    assert "客户2" in html and "电话要求" in html
    post(client, "/campaigns/opt-outs", {"external_userid": "nobody"})
    assert "找不到客户 nobody" in client.get("/campaigns/opt-outs").get_data(as_text=True)
    from app.sending.models import CustomerOptOut
    row = db.session.scalar(select(CustomerOptOut))
    post(client, f"/campaigns/opt-outs/{row.id}/delete")
    assert "名单是空的" in client.get("/campaigns/opt-outs").get_data(as_text=True)


def test_a_rejected_push_says_so_on_its_page_the_list_and_the_operators_home(client, signed_in_as, company,
                                                                             make_user):
    policies.save({"approval_threshold": 5}, "test")
    operator = signed_in_as("operator")
    campaign = create(client)
    assert "被驳回的群发" in client.get("/").get_data(as_text=True)  # the card is there, at zero
    post(client, f"/campaigns/{campaign.id}/submit")
    wait_for_push_work()
    supervisor = make_user("supervisor", "boss")
    client.get("/auth/logout")
    sign_in(client, supervisor.username)
    post(client, f"/campaigns/{campaign.id}/decide", {"decision": "reject", "comment": "优惠力度写错了，应为 8 折"})
    client.get("/auth/logout")
    sign_in(client, operator.username)

    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="rejection"' in page and "第 1 版被 boss 于" in page and "驳回原因：优惠力度写错了，应为 8 折" in page
    listing = client.get("/campaigns/?status=rejected").get_data(as_text=True)
    assert "data-rejected" in listing and "boss：优惠力度写错了" in listing and "周末上新" in listing
    home = client.get("/").get_data(as_text=True)
    assert "最新：「周末上新」被 boss 于" in home and "驳回：优惠力度写错了，应为 8 折" in home
    assert f'href="/campaigns/{campaign.id}"' in home

    post(client, f"/campaigns/{campaign.id}/edit", {**FORM, "text": "{员工姓名} 为您推荐本周新品，全场 8 折"})
    assert 'id="rejection"' not in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "周末上新" not in client.get("/campaigns/?status=rejected").get_data(as_text=True)
    assert "没有被驳回的群发" in client.get("/").get_data(as_text=True)
