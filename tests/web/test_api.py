"""The REST API: bearer tokens scoped by role, JSON errors and the OpenAPI document."""
import pytest

from app.core import tokens


@pytest.fixture
def token_for(app):
    def issue(role: str, name: str | None = None) -> str:
        return tokens.issue(name or f"{role}-token", role, created_by="test")[1]
    return issue


def _auth(raw):
    return {"Authorization": f"Bearer {raw}"}


def test_missing_token_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_unknown_and_revoked_tokens_are_refused(client, token_for, app):
    assert client.get("/api/v1/me", headers=_auth("scrm_forged")).status_code == 401
    raw = token_for("operator")
    assert client.get("/api/v1/me", headers=_auth(raw)).status_code == 200
    tokens.revoke(tokens.ApiToken.query.one())
    assert client.get("/api/v1/me", headers=_auth(raw)).status_code == 401


def test_role_scope_is_enforced(client, token_for):
    operator = token_for("operator")
    response = client.get("/api/v1/audit-log", headers=_auth(operator))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    admin = token_for("admin")
    ok = client.get("/api/v1/audit-log?action=api_token.", headers=_auth(admin))
    assert ok.status_code == 200
    assert [i["target"] for i in ok.json["items"]] == ["operator-token", "admin-token"]


def test_validation_errors_are_json_with_details(client, token_for):
    response = client.get("/api/v1/audit-log?limit=5000", headers=_auth(token_for("admin")))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "limit" in str(response.json["error"]["details"])


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_openapi_document_describes_the_routes_and_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"] and "/api/v1/audit-log" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
