"""Every page and API route declares who may use it; each role is refused where it must be."""
import pytest
from flask import url_for

from app.core.guard import PUBLIC, SIGNED_IN
from app.core.permissions import Permission, Role, role_allows
from app.navigation import NAV_ITEMS

ADMIN_PAGES = {
    "/admin/settings": Permission.SETTINGS_MANAGE,
    "/admin/users": Permission.USERS_MANAGE,
    "/admin/tokens": Permission.TOKENS_MANAGE,
    "/admin/audit": Permission.AUDIT_VIEW,
    "/admin/audit.csv": Permission.AUDIT_VIEW,
}


def test_every_endpoint_declares_its_permission(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("api-docs"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "required_permission", None) is None:
            undeclared.append(rule.endpoint)
    assert undeclared == []


def test_public_endpoints_are_few(app):
    public = sorted(e for e, v in app.view_functions.items()
                    if getattr(v, "required_permission", None) == PUBLIC)
    assert set(public) <= {"auth.login", "auth.language", "wecom.callback_verify", "wecom.callback",
                           "referral.progress", "referral.poster"}  # the inviter's signed link (no account)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_admin_pages_follow_the_role_matrix(client, signed_in_as, role):
    signed_in_as(role)
    for url, permission in ADMIN_PAGES.items():
        status = client.get(url).status_code
        expected = 200 if role_allows(role, permission) else 403
        assert status == expected, (role, url, status)


def test_denied_page_says_so_in_chinese(client, signed_in_as):
    signed_in_as("viewer")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_home_page_is_for_every_signed_in_role(client, signed_in_as, app):
    assert app.view_functions["home.index"].required_permission == SIGNED_IN
    signed_in_as("viewer")
    assert client.get("/").status_code == 200


def test_navigation_links_every_capability_an_admin_may_use(app, client, signed_in_as):
    signed_in_as("admin")
    page = client.get("/").get_data(as_text=True)
    with app.test_request_context():
        links = {item.label: url_for(item.endpoint) for item in NAV_ITEMS if role_allows(Role.ADMIN, item.permission)}
    assert len(links) >= 20
    for label, href in links.items():
        assert f'href="{href}">{label}</a>' in page, label


def test_viewer_does_not_see_admin_navigation(client, signed_in_as):
    signed_in_as("viewer")
    page = client.get("/").get_data(as_text=True)
    assert "审计日志" not in page and "/admin/" not in page
