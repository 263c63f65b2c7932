"""The progress display in a real browser: a queued sync shows as waiting, and when a worker has run it the page
reloads itself to the run's outcome; the 后台任务 page shows the failed job with its error and a retry button."""
import shutil

import pytest

from app.jobs import enqueue
from tests.conftest import PASSWORD, run_jobs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_waiting_sync_updates_itself_when_a_worker_has_run_it(app, live_server, make_user):
    from playwright.sync_api import expect, sync_playwright

    make_user("admin", username="boss")
    queued = enqueue("contacts.sync", {"started_by": "boss"}, requested_by="boss")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live_server + "/auth/login")
        page.fill("#username", "boss")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(live_server + "/")
        page.goto(live_server + "/contacts/sync")
        expect(page.get_by_text("排队中，等待后台执行")).to_be_visible()
        assert run_jobs() == 1  # a worker runs it (WeCom is not configured here: the sync fails)
        expect(page.get_by_text("企业微信未配置").first).to_be_visible(timeout=15_000)  # reloaded by progress.js
        expect(page.get_by_text("排队中，等待后台执行")).to_have_count(0)

        page.goto(live_server + "/jobs/")
        row = page.locator(f"tr[data-job='{queued.id}']")
        expect(row).to_contain_text("企业微信未配置")
        expect(row.get_by_role("button", name="重试")).to_be_visible()
        browser.close()
