"""Orders and activity events from the shop and mini-program per WeCom customer; RFM runs and stored scores."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, String, Text
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


class OrderImport(db.Model):
    """An order file being imported: read once into a staged file, mapped by the operator, checked, then stored in
    batches whose counts are committed with them (a rerun after a crash continues where the last batch ended)."""

    __tablename__ = "order_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None]  # who uploaded it; None for `scrm import-orders`
    source: Mapped[str] = mapped_column(String(16))  # upload (the console) or file (the command line)
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)  # the file as given; an upload's is removed when it is imported
    status: Mapped[str] = mapped_column(String(16))
    header: Mapped[list | None] = mapped_column(JSON)
    preview: Mapped[list | None] = mapped_column(JSON)  # the first rows, [line, [cells]]
    mapping: Mapped[dict | None] = mapped_column(JSON)  # field -> column, once chosen
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)  # read, checked or stored so far, by status
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list | None] = mapped_column(JSON)  # the first bad rows, [line, message]
    error_count: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, when not for its rows
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RfmRun(db.Model):
    """One recompute: match orders, score, store, write tags to WeCom; its stage, progress, counts and errors."""

    __tablename__ = "rfm_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, succeeded, partial, failed
    stage: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date | None] = mapped_column(Date)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class CustomerRfmScore(db.Model):
    """A customer's latest RFM (money in fen), the previous run's segment and class, and the WeCom tag state.

    `tagged_segment` / `tagged_class8` are what WeCom is known to carry; while they differ from the scores the
    customer is re-marked on every run (`mark_state` pending or failed, with the last error), never forgotten.
    A customer whose paid orders all went away keeps a row with segment None until the tags are removed.

    Every row is rewritten by each recompute (recency moves by a day), so the table is built for that: on PostgreSQL
    its pages are kept half empty so that a row's new version fits beside the old one (a HOT update: no index
    touched), only columns that rarely change are indexed, and `run_id` (the run that wrote the row last) has no
    foreign key, whose check would run once per row.
    """

    __tablename__ = "customer_rfm_scores"
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    recency_days: Mapped[int | None]
    frequency: Mapped[int] = mapped_column(default=0)
    monetary_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    r_score: Mapped[int | None]
    f_score: Mapped[int | None]
    m_score: Mapped[int | None]
    segment: Mapped[str | None] = mapped_column(String(32), index=True)
    class8: Mapped[str | None] = mapped_column(String(32), index=True)
    previous_segment: Mapped[str | None] = mapped_column(String(32))
    previous_class8: Mapped[str | None] = mapped_column(String(32))
    run_id: Mapped[int]
    tagged_segment: Mapped[str | None] = mapped_column(String(32))
    tagged_class8: Mapped[str | None] = mapped_column(String(32))
    mark_state: Mapped[str] = mapped_column(String(16), default="done", index=True)  # done, pending, failed, no_staff
    mark_error: Mapped[str | None] = mapped_column(Text)
    mark_attempts: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
