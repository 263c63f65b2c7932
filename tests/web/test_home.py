"""The home page: what needs setting up, and the numbers each role should see first, with links to act on them."""
from datetime import timedelta

from app.contacts.models import Customer, Department, FollowRelation, Staff, SyncRun
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import CustomerRfmScore, RfmRun
from app.wecom.inbox import CallbackEvent


def _company():
    now = utcnow()
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="李波", department_ids=[1], is_follow_user=True),
        Customer(external_userid="wm-new"), Customer(external_userid="wm-old"), Customer(external_userid="wm-bob"),
        Customer(external_userid="wm-gone", lost_at=now),
    ])
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="alice", external_userid="wm-new", added_at=now),
        FollowRelation(userid="alice", external_userid="wm-old", added_at=now - timedelta(days=40)),
        FollowRelation(userid="bob", external_userid="wm-bob", added_at=now - timedelta(days=3)),
        FollowRelation(userid="bob", external_userid="wm-gone", added_at=now - timedelta(days=30),
                       ended_at=now, ended_by="customer"),
    ])
    db.session.commit()


def _card(html: str, title: str) -> str:
    """The text of the card with this title (from the title to the end of its card)."""
    start = html.index(f'<div class="text-muted small">{title}</div>')
    return html[start:html.index('<div class="col">', start) if '<div class="col">' in html[start:] else None]


def test_operator_sees_new_and_lost_customers_of_today(client, signed_in_as):
    _company()
    signed_in_as("operator")
    html = client.get("/").get_data(as_text=True)
    assert ">3</a>" in _card(html, "客户")  # still friends: wm-new, wm-old, wm-bob
    assert ">1</a>" in _card(html, "今日新增客户") and "近 7 天 2" in _card(html, "今日新增客户")
    assert ">1</a>" in _card(html, "今日客户删除员工")
    assert "回调事件" not in html  # operators cannot replay callbacks: no card for them


def test_supervisor_counts_only_their_departments(client, signed_in_as):
    _company()
    signed_in_as("supervisor", wecom_userid="alice")
    html = client.get("/").get_data(as_text=True)
    assert ">2</a>" in _card(html, "客户")  # alice's two customers, not bob's
    assert "近 7 天 1" in _card(html, "今日新增客户")
    assert ">0</a>" in _card(html, "今日客户删除员工")


def test_admin_is_told_what_is_missing_and_what_failed(client, signed_in_as):
    signed_in_as("admin")
    db.session.add_all([
        SyncRun(status="failed", stage="customers", started_by="admin"),
        CallbackEvent(dedupe_key="x" * 40, lane="default", event="change_external_contact",
                      change_type="add_external_contact", payload={}, received_at=utcnow(), available_at=utcnow(),
                      status="dead"),
    ])
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "企业微信尚未接好" in html and "/admin/settings" in html
    assert "失败" in _card(html, "企业微信同步")
    assert "/wecom/events?status=dead" in _card(html, "回调事件失败")
    assert "尚未计算" in _card(html, "RFM 分层")


def test_rfm_cards_count_watched_segments_and_who_moved_in(client, signed_in_as):
    signed_in_as("viewer")
    run = RfmRun(status="succeeded", stage="done", started_by="t")
    db.session.add(run)
    db.session.flush()
    db.session.add_all([
        CustomerRfmScore(external_userid="a", segment="at_risk", previous_segment="loyal", run_id=run.id),
        CustomerRfmScore(external_userid="b", segment="at_risk", previous_segment="at_risk", run_id=run.id),
        CustomerRfmScore(external_userid="c", segment="champions", previous_segment=None, run_id=run.id),
    ])
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert ">2</a>" in _card(html, "高危流失") and "较上次新进入 1" in _card(html, "高危流失")
    assert "/rfm/customers?segment=at_risk" in _card(html, "高危流失")
    assert ">1</a>" in _card(html, "冠军客户")


def test_supervisor_is_sent_to_the_approvals_waiting_for_them(client, signed_in_as):
    from app.campaigns.models import Campaign

    db.session.add_all([Campaign(name="双11预热", status="pending_approval", created_by="op"),
                        Campaign(name="草稿", status="draft", created_by="op")])
    db.session.commit()
    signed_in_as("supervisor")
    card = _card(client.get("/").get_data(as_text=True), "待审批")
    assert ">1</a>" in card and "/campaigns/approvals" in card and "请审批后再发送" in card


def test_welcome_card_counts_todays_greetings_and_misses(client, signed_in_as):
    from app.welcome.models import WelcomeRecord

    now = utcnow()
    db.session.add_all(WelcomeRecord(inbox_id=i, welcome_code=f"code-{i}", userid="alice", external_userid=f"wm-{i}",
                                     outcome=outcome, received_at=when)
                       for i, (outcome, when) in enumerate([("sent", now), ("sent", now), ("missed", now),
                                                            ("sent", now - timedelta(days=2))]))
    db.session.commit()
    signed_in_as("community_manager")
    card = _card(client.get("/").get_data(as_text=True), "今日欢迎语")
    assert ">2</a>" in card and "超时或失败 1" in card
