"""Every console response carries the security headers; pages and API answers are never stored by a cache."""
import pytest

from app.core import tokens


def _assert_protected(response):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", ["/", "/contacts/", "/rfm/customers?segment=x", "/campaigns/", "/admin/settings",
                                 "/no-such-page"])
def test_signed_in_pages_and_errors_carry_the_headers_and_no_store(client, signed_in_as, url):
    signed_in_as("admin")
    response = client.get(url)
    _assert_protected(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_sign_in_page_and_api_answers_too(client, app):
    _assert_protected(client.get("/auth/login"))
    _token, raw = tokens.issue("shop", "viewer", created_by="test")
    response = client.get("/api/v1/segments", headers={"Authorization": f"Bearer {raw}"})
    _assert_protected(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_our_static_files_stay_cacheable(client):
    response = client.get("/static/console.js")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_no_page_template_carries_an_inline_script_or_handler():
    """The policy admits no inline script: a template with one would silently stop working in the browser."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2] / "app"
    offenders = []
    for path in root.rglob("templates/**/*.html"):
        html = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>|\son[a-z]+=|javascript:", html):
            offenders.append(f"{path.relative_to(root)}: {match.group(0)}")
    assert offenders == []
