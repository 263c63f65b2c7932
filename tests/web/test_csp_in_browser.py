"""The main pages under the Content-Security-Policy in headless Chromium: no violation, no script error, and the
behaviours that used to be inline (confirm before delete, tick all, submit on change, tag counts) still work."""
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.campaigns.editor import editing
from app.contacts.models import Customer, FollowRelation
from app.core import tokens
from app.core.db import utcnow
from app.extensions import db
from app.media import service as media
from app.rfm import ingest, recompute
from app.tags.models import CorpTag, CorpTagGroup
from app.welcome.models import Channel, WelcomeRecord

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")
PAGES = ["/", "/contacts/", "/contacts/groups", "/contacts/staff", "/contacts/sync", "/tags/", "/rfm/",
         "/rfm/customers", "/segments/", "/segments/new", "/campaigns/", "/campaigns/new", "/welcome/",
         "/welcome/templates/new", "/welcome/channels", "/welcome/channels/1", "/contacts/wm0", "/admin/settings",
         "/admin/users", "/admin/tokens",
         "/admin/audit", "/wecom/events", "/campaigns/1", "/campaigns/1/edit", "/campaigns/1/preview",
         "/campaigns/1/results", "/media/", "/jobs/", "/tasks/", "/tasks/new", "/tasks/rules", "/tasks/mine",
         "/staffmsg/"]


def _seed():
    db.session.add_all([CorpTagGroup(group_id="g1", name="意向"), CorpTag(tag_id="t-hot", group_id="g1", name="高意向")])
    for i in range(3):
        db.session.add(Customer(external_userid=f"wm{i}", name=f"客户{i}", avatar="http://127.0.0.1:9/no-such.png"))
        db.session.flush()
        db.session.add(FollowRelation(userid="alice", external_userid=f"wm{i}", tag_ids=["t-hot"]))
    db.session.add(Channel(name="门店", config_id="cfg1", qr_code="http://127.0.0.1:9/no-such-qr.png"))
    db.session.add(WelcomeRecord(inbox_id=1, userid="alice", external_userid="wm0", outcome="sent",
                                 received_at=utcnow(), sent_at=utcnow(), latency_ms=800))
    db.session.commit()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    raw = [{"order_id": f"o{i}", "external_userid": f"wm{i % 3}", "amount": f"{10 + i}.00", "status": "paid",
            "paid_at": (today - timedelta(days=i * 9)).isoformat()} for i in range(9)]
    ingest.store_orders(ingest.validate_orders(raw), source="test")
    recompute.execute(recompute.begin("test").id)
    tokens.issue("shop", "viewer", created_by="test")
    media.add("image", "海报", "poster.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "test")
    editing.save(None, {"name": "周末上新", "category": "promotion", "audience_rule": {"op": "and", "rules": []},
                        "content": {"text": "{员工姓名} 为您推荐本周新品"}}, "test")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_main_pages_run_under_the_policy(app, live_server, make_user):
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import PASSWORD

    _seed()
    make_user("admin", username="boss")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        problems = []
        page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        page.goto(live_server + "/auth/login")
        page.fill("#username", "boss")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(live_server + "/")
        for url in PAGES:
            response = page.goto(live_server + url)
            assert response.status == 200, url
            page.wait_for_load_state("networkidle")
        assert problems == []

        page.goto(live_server + "/rfm/")
        for chart in ("#rfm-heatmap", "#rfm-segments", "#rfm-classes"):
            assert page.locator(f"{chart} canvas").count() >= 1, chart

        page.goto(live_server + "/welcome/")
        assert page.locator("#welcome-latency canvas").count() >= 1
        page.goto(live_server + "/welcome/channels/1")
        expect(page.locator("#qr-missing")).to_be_visible()  # the QR image failed: the explanation shows
        page.goto(live_server + "/contacts/wm0")
        expect(page.locator("img[data-hide-on-error]")).to_be_hidden()

        page.goto(live_server + "/tags/")
        expect(page.locator("[data-customers='t-hot']")).to_have_text("3")

        page.goto(live_server + "/contacts/")
        page.locator("#check-all").check()
        expect(page.locator(".row-check:checked")).to_have_count(3)

        page.goto(live_server + "/campaigns/")
        page.select_option("#status", index=1)
        page.wait_for_url("**/campaigns/?status=*")

        page.goto(live_server + "/admin/tokens")
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name="吊销").click()
        assert asked == ["确定吊销？使用该令牌的系统将立即无法调用。"]
        expect(page.locator(".badge", has_text="有效")).to_have_count(1)  # dismissed: nothing revoked
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="吊销").click()
        expect(page.locator(".badge", has_text="已吊销")).to_have_count(1)
        assert problems == []
        browser.close()
