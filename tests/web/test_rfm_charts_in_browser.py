"""The RFM page in headless Chromium: the vendored ECharts draws the heat map and bars without a script error."""
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.rfm import ingest, recompute

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_charts_render_and_a_heat_map_cell_opens_its_customers(app, live_server, make_user):
    from playwright.sync_api import sync_playwright

    from tests.conftest import PASSWORD

    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    raw = [{"order_id": f"o{i}", "external_userid": f"wm{i % 7}", "amount": f"{10 + i}.00", "status": "paid",
            "paid_at": (today - timedelta(days=i * 9)).isoformat()} for i in range(30)]
    ingest.store_orders(ingest.validate_orders(raw), source="test")
    recompute.execute(recompute.begin("test").id)
    make_user("viewer", username="guest")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server + "/auth/login")
        page.fill("#username", "guest")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(live_server + "/rfm/")
        for chart in ("#rfm-heatmap", "#rfm-segments", "#rfm-classes"):
            assert page.locator(f"{chart} canvas").count() >= 1, chart
        assert errors == []
        page.locator("[data-cell] a").first.click()
        page.wait_for_url("**/rfm/customers?r=*")
        assert "RFM 客户" in page.title()
        browser.close()
