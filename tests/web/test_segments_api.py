"""The segments API: list, fresh count and members in stable pages, by role, in the OpenAPI document."""
import pytest

from app.contacts.models import Customer
from app.core import tokens
from app.extensions import db
from app.segments import service

LOST = {"op": "and", "rules": [{"field": "lost", "operator": "is", "value": False}]}


@pytest.fixture
def segment(app):
    db.session.add_all(Customer(external_userid=f"wm{i:02d}", name=f"客户{i}") for i in range(5))
    db.session.commit()
    return service.create_segment("跟进中", "未流失的客户", LOST, "test")


def auth(role):
    return {"Authorization": f"Bearer {tokens.issue(f'{role}-token', role, created_by='test')[1]}"}


def test_list_count_and_members(client, segment):
    headers = auth("operator")
    listed = client.get("/api/v1/segments", headers=headers).json["items"]
    assert [(s["id"], s["name"], s["last_count"], s["rule"]) for s in listed] == [(segment.id, "跟进中", 5, LOST)]
    db.session.add(Customer(external_userid="wm-new", name="新客户"))
    db.session.commit()
    assert client.get(f"/api/v1/segments/{segment.id}/count", headers=headers).json == {"id": segment.id, "count": 6}


def test_members_come_in_stable_pages(client, segment):
    headers = auth("operator")
    first = client.get(f"/api/v1/segments/{segment.id}/members?limit=2", headers=headers).json
    assert [m["external_userid"] for m in first["items"]] == ["wm00", "wm01"]
    seen, after = [], 0
    while after is not None:
        page = client.get(f"/api/v1/segments/{segment.id}/members?limit=2&after_id={after}", headers=headers).json
        seen += [m["customer_id"] for m in page["items"]]
        after = page["next_after_id"]
    assert seen == sorted(seen) and len(seen) == 5


def test_unknown_segment_is_404_and_roles_without_the_permission_403(client, segment):
    assert client.get("/api/v1/segments/999/count", headers=auth("operator")).json["error"]["code"] == "not_found"
    refused = client.get("/api/v1/segments", headers=auth("viewer"))
    assert refused.status_code == 403 and "segments.manage" in refused.json["error"]["message"]
    assert client.get("/api/v1/segments").status_code == 401


def test_openapi_document_lists_the_segment_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/segments", "/api/v1/segments/{segment_id}/count", "/api/v1/segments/{segment_id}/members"} <= set(paths)
