"""An order through the API, or in an imported order file, that names its customer only by unionid or by a remark
mobile takes them out of their journeys before the API answers or the import job ends, as an order by external_userid
does (no wait for the nightly matching)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.contacts.models import Customer, FollowRelation
from app.core import tokens
from app.extensions import db
from app.journeys import jobs
from app.journeys.models import JourneyEntry
from app.lifecycle.models import CustomerStage
from app.rfm import order_import
from app.rfm.models import Order, OrderImport
from tests.conftest import run_jobs
from tests.integration.test_journeys import MESSAGE, NOON, journey_from, seed


@pytest.fixture
def shop(app):
    return {"Authorization": "Bearer " + tokens.issue("商城", "operator", created_by="test")[1]}


def entry_of(ext: str) -> tuple[str, str | None]:
    db.session.expire_all()
    entry = db.session.scalars(select(JourneyEntry).where(JourneyEntry.external_userid == ext)).one()
    return entry.status, entry.exit_reason


def in_a_journey_ending_on_an_order() -> None:
    """wm000..wm003 waiting in a journey that an order ends; wm000 known by unionid, wm001 by a remark mobile."""
    seed(4)
    db.session.get(Customer, db.session.scalar(select(Customer.id).where(Customer.external_userid == "wm000"))) \
        .unionid = "un-zero"
    relation = db.session.scalars(select(FollowRelation).where(FollowRelation.external_userid == "wm001")).one()
    relation.remark_mobiles = ["+86 138-0013-8000"]
    db.session.commit()
    journey = journey_from([{"kind": "wait", "days": 3}, MESSAGE])
    jobs.tick_one(journey, NOON)


def test_orders_by_unionid_or_mobile_exit_their_customers_in_the_api_call(client, shop):
    in_a_journey_ending_on_an_order()

    paid = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")  # after they entered, on NOON
    orders = [{"order_id": "U1", "unionid": "un-zero", "amount": "10", "paid_at": paid,
               "status": "paid"},
              {"order_id": "M1", "mobile": "13800138000", "amount": "20", "paid_at": paid,
               "status": "paid"},
              {"order_id": "N1", "mobile": "13900000000", "amount": "30", "paid_at": paid,
               "status": "paid"}]  # nobody's mobile: stays unmatched
    assert client.post("/api/v1/orders", json={"orders": orders}, headers=shop).status_code == 200
    assert entry_of("wm000") == ("exited", "order") and entry_of("wm001") == ("exited", "order")
    assert entry_of("wm002") == ("active", None)
    assert dict(db.session.execute(select(Order.order_id, Order.external_userid)).all()) == {
        "U1": "wm000", "M1": "wm001", "N1": None}
    assert db.session.get(CustomerStage, "wm000").stage == "active"  # the matched order counts for the stage too


def test_an_order_file_by_unionid_or_mobile_exits_their_customers_in_the_import_job(app, tmp_path):
    in_a_journey_ending_on_an_order()
    path = tmp_path / "orders.csv"
    path.write_text("订单号,unionid,手机号,金额,支付时间,状态\n"
                    "U1,un-zero,,10,2026-11-23 13:00:00,已支付\n"
                    "M1,,13800138000,20,2026-11-23 13:00:00,已支付\n"
                    "N1,,13900000000,30,2026-11-23 13:00:00,已支付\n", encoding="utf-8")
    job = order_import.create(path, path.name, "file", None, mapping={})
    order_import.launch(job.id, "test")
    run_jobs()  # the import job alone: no journey tick, no nightly matching after it

    assert db.session.get(OrderImport, job.id).status == order_import.DONE
    assert entry_of("wm000") == ("exited", "order") and entry_of("wm001") == ("exited", "order")
    assert entry_of("wm002") == ("active", None)
    assert dict(db.session.execute(select(Order.order_id, Order.external_userid)).all()) == {
        "U1": "wm000", "M1": "wm001", "N1": None}
    assert db.session.get(CustomerStage, "wm001").stage == "active"
