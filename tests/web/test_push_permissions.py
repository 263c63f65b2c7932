"""Who may do what with a push: read-only accounts start no dry runs; community managers send to groups, not 1:1."""
import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign, CampaignCheck, CampaignRun
from app.core import accounts, tokens
from app.extensions import db
from tests.conftest import sign_in, wait_for_push_work
from tests.web.test_campaign_pages import FORM, company, create, no_quiet_hours, post  # noqa: F401 (fixtures)

GROUP_FORM = {**FORM, "chat_type": "group", "group_name": "会员群"}
NOT_YOURS = "你的角色只能向客户群群发，不能一对一发给客户"


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _operators_push(client, make_user, **changes) -> Campaign:
    make_user("operator", username="ops")
    sign_in(client, "ops")
    campaign = create(client, **changes)
    wait_for_push_work()
    return campaign


def _switch_to(client, make_user, role: str):
    with client.session_transaction() as session:
        session.clear()
    if accounts.find_user(f"{role}-2") is None:
        make_user(role, username=f"{role}-2")
    assert sign_in(client, f"{role}-2").status_code == 302


def test_a_viewer_starts_no_dry_run_but_sees_the_last_one(client, make_user, company):
    campaign = _operators_push(client, make_user)
    _switch_to(client, make_user, "viewer")
    html = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert "还没有试算结果" in html and "重新试算" not in html
    assert post(client, f"/campaigns/{campaign.id}/preview").status_code == 403
    assert _count(CampaignCheck) == 0

    _switch_to(client, make_user, "operator")
    assert post(client, f"/campaigns/{campaign.id}/preview").status_code == 302  # asked for; a worker runs it
    wait_for_push_work()
    _switch_to(client, make_user, "viewer")
    html = client.get(f"/campaigns/{campaign.id}/preview").get_data(as_text=True)
    assert 'id="recipients"' in html and "重新试算" not in html
    assert _count(CampaignCheck) == 1


def test_a_community_manager_creates_group_pushes_only(client, signed_in_as, company):
    signed_in_as("community_manager")
    editor = client.get("/campaigns/new").get_data(as_text=True)
    assert 'value="group"' in editor and 'value="single"' not in editor
    refused = post(client, "/campaigns/new", FORM)
    assert refused.status_code == 422 and NOT_YOURS in refused.get_data(as_text=True)
    assert _count(Campaign) == 0
    assert post(client, "/campaigns/new", GROUP_FORM).status_code == 302
    assert db.session.scalars(select(Campaign)).one().chat_type == "group"


def test_a_community_manager_cannot_change_or_send_a_1to1_push(client, make_user, company):
    campaign = _operators_push(client, make_user)
    _switch_to(client, make_user, "community_manager")
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f"/campaigns/{campaign.id}/submit" not in detail and f"/campaigns/{campaign.id}/edit" not in detail
    assert client.get(f"/campaigns/{campaign.id}/edit").status_code == 403
    for action in ("edit", "submit", "run", "test", "cancel"):
        assert post(client, f"/campaigns/{campaign.id}/{action}", {**GROUP_FORM, "sender": "alice",
                                                                   "external_userid": "wm000"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "draft" and db.session.get(Campaign, campaign.id).version == 1
    assert _count(CampaignRun) == 0


@pytest.fixture
def bearer(app):
    return lambda role: {"Authorization": f"Bearer {tokens.issue(f'{role}-shop', role, created_by='test')[1]}"}


def test_the_api_holds_community_managers_to_group_pushes(client, bearer, company):
    spec = {"name": "新品上市", "category": "promotion", "audience_rule": {"op": "and", "rules": []},
            "content": {"text": "新品上市啦"}}
    manager = bearer("community_manager")
    refused = client.post("/api/v1/campaigns", json=spec, headers=manager)
    assert refused.status_code == 403 and "customers.send" in refused.get_json()["error"]["message"]
    assert _count(Campaign) == 0
    group = client.post("/api/v1/campaigns", json={**spec, "chat_type": "group", "group_filter": {"name_contains": "会员"}},
                        headers=manager)
    assert group.status_code == 201, group.get_json()

    single = client.post("/api/v1/campaigns", json=spec, headers=bearer("operator")).get_json()
    for action in ("submit", "run", "cancel"):
        assert client.post(f"/api/v1/campaigns/{single['id']}/{action}", headers=manager).status_code == 403
    assert client.get(f"/api/v1/campaigns/{single['id']}", headers=manager).status_code == 200
    db.session.expire_all()
    assert db.session.get(Campaign, single["id"]).status == "draft"
