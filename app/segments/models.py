"""Saved segments (人群), each customer's segment facts, and the indexes the segment conditions lean on in other
capabilities' tables."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.extensions import db
from app.contacts.models import Customer, FollowRelation, trigram_index
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


STATE_SEP = "\x1f"  # the unit separator: around each state in CustomerFacts.states


def encode_state(state: str) -> str:
    """`state` without the separator, one to one and prefix-preserving (\\x1e -> \\x1e0, \\x1f -> \\x1e1); the
    facts rebuild (facts.py) encodes stored states the same way in SQL."""
    return state.replace("\x1e", "\x1e0").replace(STATE_SEP, "\x1e1")


def _array(item) -> ARRAY:
    """An array on PostgreSQL; JSON elsewhere (the facts are kept on PostgreSQL only, see app/segments/facts.py)."""
    return ARRAY(item).with_variant(JSON(), "sqlite")


class CustomerFacts(db.Model):
    """What the segment conditions ask of one customer, in one row, kept by PostgreSQL triggers (facts.py): a count
    reads this table instead of joining relations, orders, groups and events.

    `paid_times` are the paid orders' times (whole epoch seconds, ascending) and `paid_cum_fen` their running
    totals after a leading 0, so that a window's count and amount are two array lookups."""

    __tablename__ = "customer_facts"
    __table_args__ = (*(Index(f"ix_customer_facts_{name}", name, postgresql_using="gin")
                        for name in ("staff", "tag_ids", "chat_ids")),
                      trigram_index("customer_facts", "states"))

    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id, ondelete="CASCADE"), primary_key=True,
                                             autoincrement=False)
    external_userid: Mapped[str] = mapped_column(String(64), unique=True)
    lost: Mapped[bool]
    first_added_at: Mapped[datetime | None]                                  # first relation, ended ones included
    staff: Mapped[list[str] | None] = mapped_column(_array(String(64)))      # current relations' staff
    tag_ids: Mapped[list[str] | None] = mapped_column(_array(String(64)))    # current relations' tags
    chat_ids: Mapped[list[str] | None] = mapped_column(_array(String(64)))   # groups the customer is in
    states: Mapped[str | None] = mapped_column(Text)  # current relations' states, encoded, each between STATE_SEP
    last_activity_at: Mapped[datetime | None]
    paid_times: Mapped[list[int] | None] = mapped_column(_array(BigInteger))
    paid_cum_fen: Mapped[list[int] | None] = mapped_column(_array(BigInteger))


class CustomerFactsChange(db.Model):
    """A customer whose facts are out of date: written by the source tables' triggers, taken by facts.refresh.
    Rows are appended, never upserted, so that a writer never waits for another transaction."""

    __tablename__ = "customer_facts_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), index=True)


# Windowed order conditions ("spent 1,000 in 90 days") scan paid orders by time; activity scans events by time;
# channel state conditions look up equal values and prefixes (LIKE 'ref-%' on PostgreSQL).
Index("ix_orders_paid_window", Order.paid_at, Order.external_userid, Order.amount_fen,
      postgresql_where=Order.status == "paid")
Index("ix_customer_events_occurred_at", CustomerEvent.occurred_at)
Index("ix_follow_relations_state", FollowRelation.state, postgresql_ops={"state": "varchar_pattern_ops"})
