"""The push API: create, submit, approve per role, run now, cancel, read status; all in the OpenAPI document."""
from datetime import timedelta

import pytest

from app.campaigns.policy import policies
from app.campaigns.models import Campaign
from app.contacts.models import Customer, FollowRelation, Staff
from app.core import tokens
from app.core.db import utcnow
from app.extensions import db
from tests.conftest import wait_for_push_work

SPEC = {"name": "新品上市", "category": "promotion", "audience_rule": {"op": "and", "rules": []},
        "content": {"text": "{员工姓名}：新品上市啦", "attachments": [
            {"msgtype": "link", "link": {"title": "新品", "url": "https://shop.example.com/new"}}]},
        "holdout_percent": 10}


@pytest.fixture
def auth(app):
    def header(role: str) -> dict:
        return {"Authorization": f"Bearer {tokens.issue(f'{role}-shop', role, created_by='test')[1]}"}
    return header


@pytest.fixture(autouse=True)
def company(app):
    policies.save({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")
    db.session.add(Staff(userid="alice", name="Alice", status=1))
    for i in range(8):
        db.session.add(Customer(external_userid=f"wm{i}", name=f"客户{i}"))
        db.session.add(FollowRelation(userid="alice", external_userid=f"wm{i}", added_at=utcnow() - timedelta(days=1)))
    db.session.commit()


def submitted_campaign(client, campaign_id: int, headers: dict) -> dict:
    """The campaign once its submission's count is in, as an integration polling GET would see it."""
    wait_for_push_work()
    return client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).json


def test_create_submit_and_read_status(client, auth):
    operator = auth("operator")
    created = client.post("/api/v1/campaigns", json=SPEC, headers=operator)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft" and created.json["version"] == 1
    campaign_id = created.json["id"]
    accepted = client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=operator)
    assert accepted.status_code == 202, accepted.json
    assert accepted.json["status"] == "draft" and accepted.json["submission"]["status"] == "running"
    submitted = submitted_campaign(client, campaign_id, operator)
    assert submitted["status"] == "running" and submitted["approved_by"] == "system"
    run = submitted["runs"][0]
    assert submitted["submission"]["outcome"] == "approved"
    assert submitted["submission"]["recipients"] == run["counts"]["planned"] == 8 - run["counts"]["holdout"]
    assert run["status"] == "planned" and run["counts"]["total"] == 8
    read = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth("viewer"))
    assert read.json["runs"][0]["id"] == run["id"]
    again = client.post(f"/api/v1/campaigns/{campaign_id}/run", headers=operator)
    assert again.status_code == 409 and "还有一次执行未结束" in again.json["error"]["message"]


def test_bad_spec_is_422_with_fields_and_nothing_saved(client, auth, word_library):
    response = client.post("/api/v1/campaigns", json={**SPEC, "content": {"text": "保本稳赚"}, "holdout_percent": 90},
                           headers=auth("operator"))
    assert response.status_code == 422
    assert "含敏感词" in response.json["error"]["details"]["content"][0]
    assert "holdout_percent" in response.json["error"]["details"]
    assert client.get("/api/v1/campaigns/1", headers=auth("viewer")).status_code == 404


def test_bad_attachment_is_422_with_the_content_modules_errors(client, auth):
    attachments = [{"msgtype": "link", "link": {"title": "新品", "url": "ftp://shop"}}, {"msgtype": "video"}]
    response = client.post("/api/v1/campaigns", json={**SPEC, "content": {"text": "{员工名}：上新", "attachments": attachments}},
                           headers=auth("operator"))
    assert response.status_code == 422
    assert response.json["error"]["details"]["content"] == [
        "未知变量 {员工名}：可用的变量有 {员工姓名}",
        "第 1 个附件的「链接地址」要以 http:// 或 https:// 开头",
        "第 2 个附件的类型不支持（可用：图片、链接、小程序）"]


def test_approval_is_enforced_per_role(client, auth):
    policies.save({"approval_threshold": 3}, "test")
    operator, supervisor = auth("operator"), auth("supervisor")
    campaign_id = client.post("/api/v1/campaigns", json=SPEC, headers=operator).json["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=operator)
    assert submitted_campaign(client, campaign_id, operator)["status"] == "pending_approval"
    denied = client.post(f"/api/v1/campaigns/{campaign_id}/approve", json={"version": 1}, headers=operator)
    assert denied.status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign_id}/run", headers=operator).status_code == 409
    stale = client.post(f"/api/v1/campaigns/{campaign_id}/approve", json={"version": 2}, headers=supervisor)
    assert stale.status_code == 409
    approved = client.post(f"/api/v1/campaigns/{campaign_id}/approve", json={"version": 1, "comment": "可以"},
                           headers=supervisor)
    assert approved.status_code == 200 and approved.json["approved_by"] == "api:supervisor-shop"
    assert approved.json["runs"][0]["status"] == "planning"  # planned off the request
    wait_for_push_work()
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json["runs"][0]["status"] == "planned"


def test_cancel_stops_the_campaign(client, auth):
    operator = auth("operator")
    campaign_id = client.post("/api/v1/campaigns", json={**SPEC, "schedule": {"kind": "daily", "time_of_day": "10:00"}},
                              headers=operator).json["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=operator)
    assert submitted_campaign(client, campaign_id, operator)["status"] == "scheduled"
    cancelled = client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=operator)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=operator).status_code == 409


def test_openapi_describes_the_push_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}", "/api/v1/campaigns/{campaign_id}/submit",
                 "/api/v1/campaigns/{campaign_id}/approve", "/api/v1/campaigns/{campaign_id}/run",
                 "/api/v1/campaigns/{campaign_id}/cancel"):
        assert path in paths


def test_a_push_naming_the_customer_is_422_and_an_old_one_cannot_be_submitted(client, auth):
    operator = auth("operator")
    refused = client.post("/api/v1/campaigns", json={**SPEC, "content": {"text": "{客户昵称}好，新品上市"}},
                          headers=operator)
    assert refused.status_code == 422
    assert "客户看到的是「您好，新品上市」" in refused.json["error"]["details"]["content"][0]
    campaign_id = client.post("/api/v1/campaigns", json=SPEC, headers=operator).json["id"]
    campaign = db.session.get(Campaign, campaign_id)
    campaign.content = {"text": "{客户昵称}好，新品上市", "attachments": []}  # saved before the rule
    db.session.commit()
    response = client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=operator)
    assert response.status_code == 422 and "群发不能用 {客户昵称}" in response.json["error"]["details"]["content"][0]
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json["status"] == "draft"


def test_a_rejected_push_reads_as_rejected_with_who_and_why(client, auth):
    policies.save({"approval_threshold": 3}, "test")
    operator, supervisor = auth("operator"), auth("supervisor")
    campaign_id = client.post("/api/v1/campaigns", json=SPEC, headers=operator).json["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=operator)
    assert submitted_campaign(client, campaign_id, operator)["rejection"] is None
    client.post(f"/api/v1/campaigns/{campaign_id}/approve", json={"version": 1, "decision": "reject",
                                                                  "comment": "人群太大"}, headers=supervisor)
    body = client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json
    assert body["status"] == "draft"
    assert {k: body["rejection"][k] for k in ("version", "actor", "comment")} == \
        {"version": 1, "actor": "api:supervisor-shop", "comment": "人群太大"}
