"""Orders and activity events from the company's shop and mini-program, kept per WeCom customer identity."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db


class Order(db.Model):
    """One order, unique by the shop's order_id; a later status (refund) updates it."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_paid", "external_userid", "paid_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    external_userid: Mapped[str | None] = mapped_column(String(64))  # None until matched by unionid/mobile
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    mobile: Mapped[str | None] = mapped_column(String(32), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[Any | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerEvent(db.Model):
    """Activity from the shop or mini-program (visit, click, reply) that tells who is active."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer_time", "external_userid", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the sender's id, for retries
    type: Mapped[str] = mapped_column(String(32))
    external_userid: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
