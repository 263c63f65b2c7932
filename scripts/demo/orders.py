"""Believable orders for the demo company, so RFM has something to score: deterministic, 18 months."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.contacts.models import Customer
from app.core import settings
from app.extensions import db
from app.rfm import ingest
from app.rfm.models import Order
from app.rfm.order_rows import OrderRecord

CATEGORIES = ("茶叶", "茶具", "礼盒", "点心", "会员卡")
BUYER_SHARE = 0.45
DAYS = 540


def _record(rng: random.Random, n: int, who: str, now: datetime) -> OrderRecord:
    paid_at = now - timedelta(days=rng.triangular(0, DAYS, 30), minutes=rng.randint(0, 24 * 60))
    amount = Decimal(int(rng.lognormvariate(5.0, 0.8) * 100)) / 100 + Decimal("9.90")
    status = rng.choices(("paid", "refunded", "cancelled"), (92, 5, 3))[0]
    return OrderRecord(f"DEMO{n:07d}", who, None, None, amount.quantize(Decimal("0.01")), paid_at, status,
                       rng.choice(CATEGORIES), None)


def seed_orders() -> int:
    """Orders for about half of the synced customers (a few buy often), once; returns how many were added."""
    if db.session.scalar(select(func.count()).select_from(Order)):
        return 0
    rng = random.Random(20261123)
    now = datetime.now(settings.corp_timezone()).replace(microsecond=0)
    buyers = [who for who in db.session.scalars(select(Customer.external_userid).order_by(Customer.external_userid))
              if rng.random() < BUYER_SHARE]
    records = []
    for who in buyers:
        for _ in range(min(30, 1 + int(rng.expovariate(0.35)))):
            records.append(_record(rng, len(records) + 1, who, now))
    for start in range(0, len(records), 5000):
        ingest.store_orders(records[start:start + 5000], source="demo")
    return len(records)
