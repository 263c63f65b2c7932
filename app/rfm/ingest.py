"""Storing orders and events: validated as a whole, written in short transactions, idempotent by their ids."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import select

from app.core import bounds, settings
from app.core.audit import record
from app.core.db import transaction, upsert_ignore, utcnow
from app.extensions import db
from app.journeys import exits as journey_exits
from app.lifecycle import signals
from app.rfm.matching import Mobiles, match_these, narrowed
from app.rfm.models import CustomerEvent, Order
from app.rfm.order_rows import FIELD_LABELS, OrderRecord, normalize, normalize_all, parse_paid_at

MAX_BATCH = 1000
EVENT_TYPE_MAX = 32
# The widths of the columns (app/rfm/models.py): longer values are refused by name, never cut.
ORDER_COLUMN_WIDTHS = {"order_id": 64, "external_userid": 64, "unionid": 64, "mobile": 32, "category": 64}
EVENT_COLUMN_WIDTHS = {"event_id": 64, "external_userid": 64}


@dataclass
class IngestError(ValueError):
    """Nothing was stored; `errors` maps a record's position (0-based) to what is wrong with it."""

    errors: dict[int, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "；".join(f"第 {i + 1} 条: {m}" for i, m in sorted(self.errors.items()))


@dataclass(frozen=True)
class OrderCounts:
    added: int
    updated: int
    unchanged: int


def validate_orders(raw: Iterable[Mapping[str, Any]]) -> list[OrderRecord]:
    """Every record validated; any problem (or an order_id given twice) raises IngestError naming them all."""
    records, errors = normalize_all(((i + 1, item) for i, item in enumerate(raw)), settings.corp_timezone(), "条",
                                    storable)
    if errors:
        raise IngestError({position - 1: message for position, message in errors.items()})
    return records


def storable(item: Mapping[str, Any], zone) -> OrderRecord:
    """The order as `normalize` reads it and within what the database holds; else ValueError naming the fields.
    Every way in (the API, the console's import, `scrm import-orders`) checks with this."""
    order = normalize(item, zone)
    if problem := beyond_bounds(order):
        raise ValueError(problem)
    return order


def beyond_bounds(record: OrderRecord) -> str | None:
    """What about a valid order no column can hold or no business means (a field longer than its column, a time
    outside the accepted years), or None. `scrm rfm-score` reads files without it (it stores nothing)."""
    problems = [f"{FIELD_LABELS[key]}（{key}）超过 {width} 个字符" for key, width in ORDER_COLUMN_WIDTHS.items()
                if len(getattr(record, key) or "") > width]
    if record.amount > bounds.MAX_AMOUNT:
        problems.append(f"金额 {record.amount} 超过上限 {bounds.MAX_AMOUNT} 元")
    if problem := bounds.time_problem(record.paid_at, "支付时间"):
        problems.append(problem)
    return "；".join(problems) or None


def _changes(order: Order, rec: OrderRecord) -> dict[str, Any]:
    wanted = {"external_userid": rec.external_userid or order.external_userid, "unionid": rec.unionid,
              "mobile": rec.mobile, "amount_fen": rec.amount_fen, "paid_at": rec.paid_at,
              "status": rec.status, "category": rec.category, "items": rec.items}
    return {k: v for k, v in wanted.items() if getattr(order, k) != v}


def store_orders(records: list[OrderRecord], source: str) -> OrderCounts:
    """Insert new orders and update changed ones (a refund, a corrected amount) in one transaction, audited."""
    with transaction():
        counts = store_batch(records, source)
        record("orders.imported", target=source, details=counts.__dict__)
    return counts


def store_batch(records: list[OrderRecord], source: str, mobiles_of: Mobiles = narrowed) -> OrderCounts:
    """Within the caller's transaction: insert new orders and update changed ones; orders naming only a unionid or a
    mobile get their customer now (not at the next recompute), and the customers of the paid ones move stage and
    leave the journeys that end on an order. The API's batches and a file import's alike (an import passes one
    matching.MobileBook for all its batches).

    New orders go in with INSERT ... ON CONFLICT DO NOTHING, and the rest are read back and updated: two senders of
    the same batch at once (a shop retrying while its first try is still running) both succeed, the second waiting
    for the first and finding its orders there, instead of failing on the unique order_id."""
    now = utcnow()
    rows = [dict(order_id=r.order_id, external_userid=r.external_userid, unionid=r.unionid, mobile=r.mobile,
                 amount_fen=r.amount_fen, paid_at=r.paid_at, status=r.status, category=r.category,
                 items=r.items, source=source, created_at=now, updated_at=now) for r in records]
    insert = upsert_ignore(Order.__table__, {}, ["order_id"]).returning(Order.__table__.c.order_id)
    added = set(db.session.scalars(insert, rows)) if rows else set()
    ids = [r.order_id for r in records if r.order_id not in added]
    existing = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found = db.session.scalars(select(Order).where(Order.order_id.in_(chunk)))
        existing.update((order.order_id, order) for order in found)
    updated = 0
    for rec in records:
        order = existing.get(rec.order_id)
        if order is not None and (changes := _changes(order, rec)):
            for key, value in changes.items():
                setattr(order, key, value)
            order.updated_at = now
            updated += 1
    matched = match_these((r.order_id for r in records if not r.external_userid and (r.unionid or r.mobile)),
                          mobiles_of)
    signals.orders_stored([*(r.external_userid for r in records), *matched])  # their lifecycle stages, at once
    # before the sender hears back or the import's batch commits (issue: within 5 s)
    journey_exits.on_activity([r.external_userid for r in records if r.status == "paid"] + matched, now)
    return OrderCounts(len(added), updated, len(records) - len(added) - updated)


def _event(item: Mapping[str, Any], zone) -> dict[str, Any]:
    problems = []
    kind = str(item.get("type") or "").strip()
    if not kind or len(kind) > EVENT_TYPE_MAX:
        problems.append(f"type 必填且不超过 {EVENT_TYPE_MAX} 个字符")
    who = str(item.get("external_userid") or "").strip()
    if not who:
        problems.append("external_userid 为空")
    occurred: datetime | None = None
    try:
        occurred = parse_paid_at(item.get("occurred_at", ""), zone)
    except ValueError:
        problems.append(f"发生时间无法识别：「{item.get('occurred_at')}」")
    props = item.get("properties") or {}
    if not isinstance(props, dict):
        problems.append("properties 必须是对象")
    if problems:
        raise ValueError("；".join(problems))
    event_id = str(item.get("event_id") or "").strip() or None
    return {"event_id": event_id, "type": kind, "external_userid": who, "occurred_at": occurred,
            "properties": props}


def _within_bounds(row: dict[str, Any]) -> dict[str, Any]:
    """The event, or ValueError naming each field longer than its column or dated outside the accepted years."""
    problems = [f"{key} 超过 {width} 个字符" for key, width in EVENT_COLUMN_WIDTHS.items()
                if len(row[key] or "") > width]
    if problem := bounds.time_problem(row["occurred_at"], "发生时间"):
        problems.append(problem)
    if problems:
        raise ValueError("；".join(problems))
    return row


def store_events(raw: list[Mapping[str, Any]]) -> tuple[int, int]:
    """(stored, already stored): all validated first; an event_id seen before is not stored again."""
    zone = settings.corp_timezone()
    rows, errors = [], {}
    for index, item in enumerate(raw):
        try:
            rows.append(_within_bounds(_event(item, zone)))
        except ValueError as exc:
            errors[index] = str(exc)
    if errors:
        raise IngestError(errors)
    with transaction():
        given = [r["event_id"] for r in rows if r["event_id"]]
        known = set(db.session.scalars(select(CustomerEvent.event_id).where(CustomerEvent.event_id.in_(given))))
        fresh, seen = [], set()
        for row in rows:
            if row["event_id"] and (row["event_id"] in known or row["event_id"] in seen):
                continue
            seen.add(row["event_id"])
            fresh.append(CustomerEvent(**row))
        db.session.add_all(fresh)
        db.session.flush()
        journey_exits.on_activity([e.external_userid for e in fresh], utcnow())
        signals.events_stored(event.external_userid for event in fresh)
    return len(fresh), len(rows) - len(fresh)
