"""Saved segments (人群), and the indexes the segment conditions lean on in other capabilities' tables."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db
from app.contacts.models import FollowRelation
from app.rfm.models import CustomerEvent, Order


class Segment(db.Model):
    """A named rule tree (see app/segments/rules.py) with the count found when it was last counted."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_count: Mapped[int | None]
    last_counted_at: Mapped[datetime | None]


# Windowed order conditions ("spent 1,000 in 90 days") scan paid orders by time; activity scans events by time;
# channel state conditions look up equal values and prefixes (LIKE 'ref-%' on PostgreSQL).
Index("ix_orders_paid_window", Order.paid_at, Order.external_userid, Order.amount_fen,
      postgresql_where=Order.status == "paid")
Index("ix_customer_events_occurred_at", CustomerEvent.occurred_at)
Index("ix_follow_relations_state", FollowRelation.state, postgresql_ops={"state": "varchar_pattern_ops"})
