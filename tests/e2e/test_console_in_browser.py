"""The console as a person sees it: headless Chromium signs in and opens every built page."""
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium); browser tests skipped")

PAGES = {"/": "首页", "/admin/settings": "系统设置", "/admin/users": "账号与角色", "/admin/tokens": "API 令牌",
         "/admin/audit": "审计日志", "/wecom/events": "回调事件"}


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        page = browser.new_page()
        yield page
        browser.close()


def _sign_in(page, base, username, password):
    page.goto(base + "/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_admin_signs_in_and_every_built_page_renders(app, live_server, make_user, browser_page):
    from tests.conftest import PASSWORD

    make_user("admin", username="boss", display_name="王总")
    _sign_in(browser_page, live_server, "boss", PASSWORD)
    assert "你好，王总" in browser_page.inner_text("main")
    for path, heading in PAGES.items():
        response = browser_page.goto(live_server + path)
        assert response.status == 200, path
        assert heading in browser_page.title(), path


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_viewer_is_refused_admin_pages_in_plain_chinese(app, live_server, make_user, browser_page):
    from tests.conftest import PASSWORD

    make_user("viewer", username="guest")
    _sign_in(browser_page, live_server, "guest", PASSWORD)
    response = browser_page.goto(live_server + "/admin/settings")
    assert response.status == 403
    assert "没有权限" in browser_page.inner_text("main")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_switching_to_english(app, live_server, make_user, browser_page):
    from tests.conftest import PASSWORD

    make_user("operator", username="ops")
    _sign_in(browser_page, live_server, "ops", PASSWORD)
    browser_page.click("nav form button:has-text('English')")
    assert "Sign out" in browser_page.inner_text("nav")
