"""A supervisor sees the customers of the departments they lead only: every page, export and API route they may open
is walked, and none names a customer outside their scope (by name or external_userid)."""
from datetime import date, timedelta

import pytest
from flask import current_app

from app.campaigns.models import Campaign, CampaignCheck, CampaignRun
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, Department, FollowRelation, Staff
from app.core import tokens
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import CustomerRfmScore, Order, RfmRun
from app.sending.models import Delivery

INSIDE = ("wm-inside-zhang", "圈内张三")
OUTSIDE = ("wm-outside-chen", "圈外陈七")
NEVER_FOLLOWED = ("wm-outside-nobody", "圈外无人跟进")  # scored from orders, followed by no one


@pytest.fixture
def company(app):
    """alice leads Sales; carol works in Support. The supervisor is alice."""
    now = utcnow()
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=4, name="客服部", parent_id=1),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True, status=1),
        Staff(userid="carol", name="陈卡", department_ids=[4], is_follow_user=True, status=1),
    ])
    for ext, name in (INSIDE, OUTSIDE, NEVER_FOLLOWED):
        db.session.add(Customer(external_userid=ext, name=name))
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="alice", external_userid=INSIDE[0], added_at=now - timedelta(days=3)),
        FollowRelation(userid="carol", external_userid=OUTSIDE[0], added_at=now - timedelta(days=3)),
        CustomerGroup(chat_id="wr-support", name="客服群", owner="carol", created_at=now),
    ])
    db.session.flush()
    db.session.add(CustomerGroupMember(chat_id="wr-support", userid=OUTSIDE[0], type=2, name=OUTSIDE[1], join_scene=1))
    run = RfmRun(status="succeeded", stage="done", as_of=date.today(), started_by="test", finished_at=now)
    db.session.add(run)
    db.session.flush()
    for i, (ext, _name) in enumerate((INSIDE, OUTSIDE, NEVER_FOLLOWED)):
        db.session.add(Order(order_id=f"SO-{i}", external_userid=ext, amount_fen=10000 * (i + 1), status="paid",
                             paid_at=now - timedelta(days=5), source="csv"))
        db.session.add(CustomerRfmScore(external_userid=ext, recency_days=5, frequency=1, monetary_fen=10000 * (i + 1),
                                        r_score=5, f_score=5, m_score=5, segment="champions", class8="important_value",
                                        previous_segment="loyal", run_id=run.id, mark_state="failed"))
    campaign = Campaign(name="周末上新", category="content", chat_type="single", content={"text": "新品"},
                        audience_rule={"op": "and", "rules": []}, created_by="operator", version=1, status="running",
                        schedule_kind="now", holdout_percent=0, attribution_days=3)
    db.session.add(campaign)
    db.session.flush()
    push = CampaignRun(campaign_id=campaign.id, scheduled_for=now, campaign_version=1, status="polling",
                       counts={"planned": 2}, created_by="operator")
    db.session.add(push)
    db.session.flush()
    db.session.add_all([Delivery(run_id=push.id, target_key=INSIDE[0], sender_userid="alice", status="sent", sent_at=now),
                        Delivery(run_id=push.id, target_key=OUTSIDE[0], sender_userid="carol", status="sent", sent_at=now),
                        Delivery(run_id=push.id, target_key=NEVER_FOLLOWED[0], status="skipped", skip_reason="no_staff")])
    samples = {"planned": [list(INSIDE), list(OUTSIDE)], "no_staff": [list(NEVER_FOLLOWED)]}
    db.session.add(CampaignCheck(campaign_id=campaign.id, campaign_version=1, purpose="preview", status="done",
                                 requested_by="operator", started_at=now, finished_at=now,
                                 result={"counts": {"total": 3, "planned": 2, "holdout": 0, "skipped": 1,
                                                    "skip_reasons": {"no_staff": 1}}, "not_before": None, "samples": samples,
                                         "senders": [], "error": None}))
    db.session.commit()
    return campaign


def _pages(campaign: Campaign) -> list[str]:
    """Every GET page without arguments, and the detail pages of the data above."""
    urls = []
    for rule in current_app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static" \
                and rule.endpoint not in ("auth.logout",):
            urls.append(rule.rule)
    c = campaign.id
    urls += [f"/contacts/{INSIDE[0]}", f"/contacts/{OUTSIDE[0]}", "/contacts/groups/wr-support",
             f"/campaigns/{c}", f"/campaigns/{c}/results", f"/campaigns/{c}/results/deliveries.csv",
             f"/campaigns/{c}/preview"]
    urls += [f"/rfm/customers?{q}" for q in ("segment=champions", "class8=important_value", "r=5&f=5",
                                               "from=loyal", "mark_state=failed")]
    urls += ["/contacts/?q=圈外", "/contacts/export?format=csv", "/contacts/staff?q=陈"]
    urls += ["/contacts/pick/customers?q=圈外", "/contacts/pick/groups?q=客服", "/contacts/pick/groups?owner=carol"]
    return urls


def _text(response) -> str:
    """The body as text; an Excel export as the text of its cells."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        import io

        from openpyxl import load_workbook
        sheet = load_workbook(io.BytesIO(response.data)).active
        return "\n".join(str(c.value) for row in sheet.iter_rows() for c in row)
    return response.get_data(as_text=True)


def _leaks(body: str) -> list[str]:
    return [word for word in (*OUTSIDE, *NEVER_FOLLOWED) if word in body]


def test_every_page_a_supervisor_opens_stays_inside_their_departments(client, signed_in_as, company):
    signed_in_as("supervisor", wecom_userid="alice")
    opened = 0
    for url in _pages(company):
        response = client.get(url)
        assert response.status_code < 500, url
        body = _text(response)
        # a refusal may quote the address asked for (which names the customer the visitor already knew)
        assert not [w for w in _leaks(body) if w not in url], (url, _leaks(body))
        opened += response.status_code == 200
    assert opened > 20  # the walk really reached pages
    assert INSIDE[1] in client.get("/rfm/customers?segment=champions").get_data(as_text=True)
    assert client.get(f"/contacts/{OUTSIDE[0]}").status_code == 404
    assert "data-scoped-samples" in client.get(f"/campaigns/{company.id}/preview").get_data(as_text=True)


def test_rfm_figures_count_only_the_customers_in_scope(client, signed_in_as, company):
    signed_in_as("supervisor", wecom_userid="alice")
    html = client.get("/rfm/").get_data(as_text=True)
    assert "R × F 分布（1 位客户）" in html and "仅显示您负责部门的数据" in html
    home = client.get("/").get_data(as_text=True)
    assert "较上次新进入 1" in home


def test_push_results_count_only_the_deliveries_in_scope(app, make_user, company):
    from app.campaigns.reporting import results
    from app.contacts.scope import scope_for
    run_ids = [r.id for r in results.runs_of(company.id)]
    supervisor = make_user("supervisor", wecom_userid="alice")
    assert results.funnel(run_ids, scope_for(supervisor)).audience == 1
    assert results.funnel(run_ids, scope_for(make_user("operator"))).audience == 3


def test_api_routes_a_supervisor_token_may_call_stay_in_scope(client, company):
    header = {"Authorization": f"Bearer {tokens.issue('boss-api', 'supervisor', created_by='test')[1]}"}
    urls = [rule.rule for rule in current_app.url_map.iter_rules()
            if rule.rule.startswith("/api/") and "GET" in rule.methods and not rule.arguments]
    urls += [f"/api/v1/campaigns/{company.id}", f"/api/v1/campaigns/{company.id}/funnel",
             f"/api/v1/campaigns/{company.id}/deliveries"]
    for url in urls:
        response = client.get(url, headers=header)
        assert response.status_code < 500, url
        assert not _leaks(response.get_data(as_text=True)), url
