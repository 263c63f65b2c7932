"""The segment builder in headless Chromium, driven by the keyboard: conditions, a nested group, live count, save."""
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.contacts.models import Customer, FollowRelation

from app.core.db import utcnow
from app.extensions import db
from app.segments.models import Segment
from app.tags.models import CorpTag, CorpTagGroup

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")
SHOTS = "/tmp/shots/segments"


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_build_a_rule_watch_the_count_and_save(app, live_server, make_user):
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import PASSWORD

    db.session.add_all([CorpTagGroup(group_id="g1", name="意向"), CorpTag(tag_id="t-hot", group_id="g1", name="高意向"),
                        CorpTag(tag_id="t-cold", group_id="g1", name="低意向")])
    for i in range(12):
        db.session.add(Customer(external_userid=f"wm{i:02d}", name=f"客户{i:02d}",
                                lost_at=utcnow() - timedelta(days=1) if i % 4 == 0 else None))
        db.session.flush()
        db.session.add(FollowRelation(userid="alice", external_userid=f"wm{i:02d}", state=f"ref-{i % 3}",
                                      tag_ids=["t-hot"] if i % 2 else ["t-cold"], remark_mobiles=["13812345678"]))
    db.session.commit()
    make_user("operator", username="ops")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server + "/auth/login")
        page.fill("#username", "ops")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(live_server + "/segments/new")
        expect(page.locator("#live-count")).to_have_text("12")  # no condition yet: every customer

        page.get_by_role("button", name="+ 条件", exact=True).first.press("Enter")
        tags = page.get_by_role("combobox", name="企业标签")  # the tag picker's chips search box
        tags.fill("高意向")
        tags.press("Enter")
        expect(page.locator('[data-chip="t-hot"]')).to_contain_text("高意向")
        expect(page.locator("#live-count")).to_have_text("6")
        expect(page.locator("#sample-rows tr")).to_have_count(6)
        assert "138****5678" in page.locator("#sample-rows").inner_text() or "13812345678" in page.locator(
            "#sample-rows").inner_text()

        page.get_by_role("button", name="+ 条件组").first.click()  # a nested OR group with one condition
        nested = page.locator(".rule-group .rule-group")
        nested.get_by_role("combobox", name="条件字段").select_option("state")
        nested.get_by_role("combobox", name="运算").select_option("starts_with")
        nested.get_by_role("textbox").fill("ref-1")
        expect(page.locator("#live-count")).to_have_text("2")  # hot (odd) and ref-1 (i % 3 == 1): 1, 7
        nested.get_by_role("textbox").fill("")
        expect(page.locator(".rule-problem").filter(has_text="请填写渠道 state")).to_be_visible()
        expect(page.locator("#live-count")).to_have_text("—")
        nested.get_by_role("textbox").fill("ref-1")
        expect(page.locator("#live-count")).to_have_text("2")
        page.screenshot(path=f"{SHOTS}/builder.png", full_page=True)

        page.fill("#name", "高意向 ref-1")
        page.locator("#name").press("Enter")
        expect(page.locator(".alert-success")).to_contain_text("已保存人群「高意向 ref-1」，当前 2 人。")

        page.goto(live_server + "/segments/")
        page.screenshot(path=f"{SHOTS}/index.png", full_page=True)
        page.get_by_title("查看成员").click()  # the count links to the members
        expect(page.locator("main tbody tr")).to_have_count(2)
        page.screenshot(path=f"{SHOTS}/members.png", full_page=True)
        assert errors == []
        browser.close()
    segment = db.session.scalars(select(Segment)).one()
    assert segment.rule == {"op": "and", "rules": [
        {"field": "tags", "operator": "any", "value": ["t-hot"]},
        {"op": "or", "rules": [{"field": "state", "operator": "starts_with", "value": "ref-1"}]}]}
