"""The 生命周期 tags are written by the lifecycle stages only: no hand-tagging path (customer page, bulk tags, tag
rules, channel tags, a journey's tag step) offers or accepts them, each says why in Chinese, nothing reaches WeCom;
the tags page shows the group read-only."""
import pytest
from sqlalchemy import select

from app.contacts.models import FollowRelation
from app.extensions import db
from app.journeys import service
from app.lifecycle import writeback
from app.tags.models import TagRule
from tests.conftest import csrf_token

REFUSAL = "是生命周期标签：由生命周期阶段按客户最近一次互动自动写入"


@pytest.fixture
def dormant_tag(synced):
    return writeback.ensure_tags()["dormant"]  # the group 生命周期 made in WeCom, and known here


def test_no_hand_tagging_path_takes_a_lifecycle_tag(client, signed_in_as, synced, dormant_tag):
    rel = db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None))).first()
    signed_in_as("operator")
    page = f"/contacts/{rel.external_userid}"
    assert f'value="{dormant_tag}"' not in client.get(page).get_data(as_text=True)
    listing = client.get("/contacts/").get_data(as_text=True)
    assert listing.count(f'value="{dormant_tag}"') == 1 and "生命周期标签（「生命周期」）" in listing  # filter only

    one = client.post(page + "/tags", data={"csrf_token": csrf_token(client, page), "add": dormant_tag},
                      follow_redirects=True).get_data(as_text=True)
    assert "「生命周期 / 沉睡」" + REFUSAL in one
    bulk = client.post("/contacts/tags", data={"csrf_token": csrf_token(client, "/contacts/"), "remove": dormant_tag,
                                               "external_userid": rel.external_userid}, follow_redirects=True)
    assert REFUSAL in bulk.get_data(as_text=True)

    assert f'value="{dormant_tag}"' not in client.get("/tags/rules/new").get_data(as_text=True)
    rule = client.post("/tags/rules/new", data={
        "csrf_token": csrf_token(client, "/tags/rules/new"), "name": "沉睡", "tag_id": dormant_tag, "kind": "spent",
        "spent_days": "90", "spent_yuan": "1000", "enabled": "on"}, follow_redirects=True).get_data(as_text=True)
    assert REFUSAL in rule and db.session.scalar(select(TagRule.id)) is None

    journey = service.create("打标签", None, "operator")
    with pytest.raises(service.JourneyError, match="生命周期标签"):
        service.save(journey, "打标签", {"trigger": {"kind": "first_order"}, "exits": ["order"],
                                       "steps": [{"kind": "tag", "action": "add", "tag_id": dormant_tag}]}, "operator")

    tags = client.get("/tags/").get_data(as_text=True)
    section = tags.split('data-group="生命周期"', 1)[1].split("</section>", 1)[0]
    assert "由生命周期阶段自动维护，只读" in section and "/rename" not in section and "/delete" not in section
    assert synced.control.get("tag_marks")["tag_marks"] == []
