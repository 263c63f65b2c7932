"""The demo's orders: generated once for synced customers, deterministic, and scorable."""
from sqlalchemy import func, select

from app.contacts import sync
from scripts.demo.orders import seed_orders
from app.extensions import db
from app.rfm.models import Order


def test_demo_orders_are_generated_once_for_synced_customers(wired):
    sync.execute(sync.begin("test").id)
    added = seed_orders()
    assert added > 0
    assert seed_orders() == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == added
    statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert "paid" in statuses and statuses <= {"paid", "refunded", "cancelled"}
