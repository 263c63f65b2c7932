"""POST /api/v1/orders and /api/v1/events: batches, idempotency, status updates, all-or-nothing rejection."""
import pytest
from sqlalchemy import func, select

from app.core import tokens
from app.extensions import db
from app.rfm.models import CustomerEvent, Order


@pytest.fixture
def shop(app):
    return {"Authorization": "Bearer " + tokens.issue("商城", "operator", created_by="test")[1]}


def _order(order_id="A001", **overrides):
    order = {"order_id": order_id, "external_userid": "wmCUST1", "amount": "99.90",
             "paid_at": "2026-03-01T14:30:00", "status": "paid"}
    order.update(overrides)
    return order


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_orders_are_stored_in_fen_with_corp_local_time(client, shop):
    response = client.post("/api/v1/orders", json={"orders": [_order()]}, headers=shop)
    assert response.status_code == 200 and response.json == {"added": 1, "updated": 0, "unchanged": 0}
    order = db.session.scalars(select(Order)).one()
    assert order.amount_fen == 9990
    assert order.paid_at.isoformat() == "2026-03-01T06:30:00+00:00"  # 14:30 in Asia/Shanghai


def test_resending_is_idempotent_and_a_refund_updates_the_order(client, shop):
    client.post("/api/v1/orders", json={"orders": [_order(), _order("A002")]}, headers=shop)
    again = client.post("/api/v1/orders", json={"orders": [_order(), _order("A002", status="refunded")]},
                        headers=shop)
    assert again.json == {"added": 0, "updated": 1, "unchanged": 1}
    assert _count(Order) == 2
    assert db.session.scalar(select(Order.status).where(Order.order_id == "A002")) == "refunded"


def test_one_bad_order_rejects_the_whole_batch_and_names_it(client, shop):
    batch = [_order("A1"), _order("A2", amount="12.345"), _order("A3", paid_at="yesterday"),
             _order("A1")]
    response = client.post("/api/v1/orders", json={"orders": batch}, headers=shop)
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert set(details) == {"1", "2", "3"}
    assert "两位小数" in details["1"] and "yesterday" in details["2"] and "重复" in details["3"]
    assert _count(Order) == 0


def test_order_without_any_customer_identity_is_refused(client, shop):
    response = client.post("/api/v1/orders", json={"orders": [_order(external_userid="")]}, headers=shop)
    assert response.status_code == 422 and "至少填一个" in response.json["error"]["details"]["0"]


def test_order_matched_by_unionid_is_kept_for_later(client, shop):
    order = _order(external_userid=None, unionid="oUNION1")
    del order["external_userid"]
    assert client.post("/api/v1/orders", json={"orders": [order]}, headers=shop).status_code == 200
    stored = db.session.scalars(select(Order)).one()
    assert stored.external_userid is None and stored.unionid == "oUNION1"


def test_batches_over_1000_are_refused(client, shop):
    response = client.post("/api/v1/orders", json={"orders": [_order(str(i)) for i in range(1001)]},
                           headers=shop)
    assert response.status_code == 422 and _count(Order) == 0


def test_a_viewer_token_may_not_write_orders(client, app):
    viewer = {"Authorization": "Bearer " + tokens.issue("看板", "viewer", created_by="test")[1]}
    assert client.post("/api/v1/orders", json={"orders": [_order()]}, headers=viewer).status_code == 403


def test_events_are_stored_once_per_event_id(client, shop):
    event = {"event_id": "e-1", "type": "visit", "external_userid": "wmCUST1",
             "occurred_at": "2026-03-01T10:00:00+08:00", "properties": {"page": "/home"}}
    first = client.post("/api/v1/events", json={"events": [event, dict(event, event_id="e-2")]}, headers=shop)
    assert first.json == {"stored": 2, "duplicates": 0}
    again = client.post("/api/v1/events", json={"events": [event]}, headers=shop)
    assert again.json == {"stored": 0, "duplicates": 1}
    assert _count(CustomerEvent) == 2


def test_bad_event_rejects_the_batch(client, shop):
    response = client.post("/api/v1/events", json={"events": [
        {"type": "visit", "external_userid": "wm1", "occurred_at": "not a time"}]}, headers=shop)
    assert response.status_code == 422 and _count(CustomerEvent) == 0


def test_openapi_documents_the_order_fields(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/orders" in spec["paths"] and "/api/v1/events" in spec["paths"]
    assert "order_id" in spec["components"]["schemas"]["Order"]["properties"]
