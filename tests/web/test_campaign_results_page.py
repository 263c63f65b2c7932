"""The results page, the audited deliveries export, cancelling a run from the page, and the results API."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.campaigns.models import CampaignRun
from app.core import tokens
from app.core.audit import AuditEntry
from app.core.db import transaction
from app.extensions import db
from tests.conftest import csrf_token
from tests.integration.campaign_exec_support import T0, add_deliveries, finished_run, new_campaign, paid_order

TOO_SMALL = ">样本太少</span>"  # the badge in the interval's cell (the method note names it too)


@pytest.fixture
def campaign_id(app):
    """A finished run: 40 treated (10 bought within 3 days), 40 holdout (5 bought), a few skipped and failed."""
    with transaction():
        campaign = new_campaign()
        run = finished_run(campaign)
        add_deliveries(run, [dict(target_key=f"t{i}", status="sent", variant_key="A", sender_userid="lina",
                                  sent_at=T0) for i in range(38)]
                       + [dict(target_key="q1", status="failed", fail_reason="over_quota", variant_key="A"),
                          dict(target_key="f1", status="failed", fail_reason="not_friend", variant_key="A")]
                       + [dict(target_key=f"h{i}", status="holdout") for i in range(40)]
                       + [dict(target_key="o1", status="skipped", skip_reason="opt_out"),
                          dict(target_key="c1", status="skipped", skip_reason="cap:promo_day"),
                          dict(target_key="c2", status="skipped", skip_reason="cap:promotion_daily")])
        for t in [f"t{i}" for i in range(10)]:
            paid_order(t, T0 + timedelta(days=1))
        for t in [f"h{i}" for i in range(5)]:
            paid_order(t, T0 + timedelta(days=1))
    return campaign.id


def test_results_page_shows_funnel_reasons_and_the_interval(client, signed_in_as, campaign_id):
    signed_in_as("viewer")
    html = client.get(f"/campaigns/{campaign_id}/results").get_data(as_text=True)
    assert "送达漏斗" in html and "超出接收上限" in html and "不是好友" in html and "客户免打扰" in html
    assert "频次上限：客户 · 促销：1 天内最多 1 条（promotion_daily）" in html  # a cap is described by its rule
    assert "频次上限：promo_day" in html  # a rule removed since is named by its key
    assert "25.00%" in html and "12.50%" in html and "+12.50 个百分点" in html  # 10/40 vs 5/40
    assert "[-4.39 个百分点, +29.39 个百分点]" in html and "不显著" in html
    assert "正态近似" in html
    assert "导出明细" not in html and "取消这次运行" not in html  # a viewer may neither export nor cancel


def test_small_samples_say_so(client, signed_in_as, campaign_id):
    signed_in_as("viewer")
    html = client.get(f"/campaigns/{campaign_id}/results").get_data(as_text=True)
    assert TOO_SMALL not in html
    html = client.get(f"/campaigns/{campaign_id}/results?days=1").get_data(as_text=True)
    assert TOO_SMALL in html  # orders a full day later fall outside a 1-day window: nobody converted
    with transaction():
        run = finished_run(new_campaign())
        add_deliveries(run, [dict(target_key="x1", status="sent", variant_key="A"),
                             dict(target_key="x2", status="holdout")])
    html = client.get(f"/campaigns/{run.campaign_id}/results").get_data(as_text=True)
    assert TOO_SMALL in html


def test_export_is_audited_and_needs_the_export_permission(client, signed_in_as, campaign_id):
    signed_in_as("viewer")
    assert client.get(f"/campaigns/{campaign_id}/results/deliveries.csv").status_code == 403
    client.post("/auth/logout")
    signed_in_as("operator")
    response = client.get(f"/campaigns/{campaign_id}/results/deliveries.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith("\ufeff运行,客户或群 ID")
    assert len(body.strip().splitlines()) == 1 + 83
    assert ",超出接收上限," in body and ",对照组," in body
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "campaigns.deliveries_exported")).one()
    assert entry.details["rows"] == 83


def test_cancel_a_planned_run_from_the_page(client, signed_in_as, campaign_id):
    with transaction():
        run = db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign_id)).one()
        run.status = "planned"
        add_deliveries(run, [dict(target_key="p1", status="planned", variant_key="A")])
    signed_in_as("operator")
    html = client.get(f"/campaigns/{campaign_id}/results").get_data(as_text=True)
    assert "取消这次运行" in html
    token = csrf_token(client, f"/campaigns/{campaign_id}/results")
    response = client.post(f"/campaigns/runs/{run.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "1 位客户不再发送" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CampaignRun, run.id).status == "cancelled"


def test_api_funnel_and_deliveries_paged(client, campaign_id):
    auth = {"Authorization": "Bearer " + tokens.issue("商城", "viewer", created_by="test")[1]}
    funnel = client.get(f"/api/v1/campaigns/{campaign_id}/funnel", headers=auth).json
    assert funnel["funnel"]["sent"] == 38 and funnel["funnel"]["holdout"] == 40
    assert funnel["funnel"]["failed"] == {"over_quota": 1, "not_friend": 1}
    assert [r["status"] for r in funnel["runs"]] == ["finished"]
    seen, after = [], 0
    while after is not None:
        page = client.get(f"/api/v1/campaigns/{campaign_id}/deliveries?limit=30&after_id={after}", headers=auth).json
        seen += page["items"]
        after = page["next_after_id"]
    assert len(seen) == 83 and len({d["id"] for d in seen}) == 83
    sent = client.get(f"/api/v1/campaigns/{campaign_id}/deliveries?status=sent", headers=auth).json
    assert len(sent["items"]) == 38 and sent["next_after_id"] is None
    assert client.get("/api/v1/campaigns/999/funnel", headers=auth).status_code == 404
    assert client.get(f"/api/v1/campaigns/{campaign_id}/deliveries?status=nope", headers=auth).status_code == 422
