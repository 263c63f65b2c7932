"""Storing orders and events: validated as a whole, written in one transaction, idempotent by their ids."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import select

from app.core import settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm.models import CustomerEvent, Order
from app.rfm.order_rows import OrderRecord, normalize_all, parse_paid_at

MAX_BATCH = 1000
EVENT_TYPE_MAX = 32


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
    records, errors = normalize_all(((i + 1, item) for i, item in enumerate(raw)), settings.corp_timezone(), "条")
    if errors:
        raise IngestError({position - 1: message for position, message in errors.items()})
    return records


def _changes(order: Order, rec: OrderRecord) -> dict[str, Any]:
    wanted = {"external_userid": rec.external_userid or order.external_userid, "unionid": rec.unionid,
              "mobile": rec.mobile, "amount_fen": rec.amount_fen, "paid_at": rec.paid_at,
              "status": rec.status, "category": rec.category, "items": rec.items}
    return {k: v for k, v in wanted.items() if getattr(order, k) != v}


def store_orders(records: list[OrderRecord], source: str) -> OrderCounts:
    """Insert new orders and update changed ones (a refund, a corrected amount) in one transaction."""
    added = updated = 0
    with transaction():
        ids = [r.order_id for r in records]
        existing = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found = db.session.scalars(select(Order).where(Order.order_id.in_(chunk)))
            existing.update((order.order_id, order) for order in found)
        now = utcnow()
        for rec in records:
            order = existing.get(rec.order_id)
            if order is None:
                db.session.add(Order(order_id=rec.order_id, external_userid=rec.external_userid,
                                     unionid=rec.unionid, mobile=rec.mobile, amount_fen=rec.amount_fen,
                                     paid_at=rec.paid_at, status=rec.status, category=rec.category,
                                     items=rec.items, source=source, created_at=now, updated_at=now))
                added += 1
            elif changes := _changes(order, rec):
                for key, value in changes.items():
                    setattr(order, key, value)
                order.updated_at = now
                updated += 1
        counts = OrderCounts(added, updated, len(records) - added - updated)
        record("orders.imported", target=source, details=counts.__dict__)
    return counts


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


def store_events(raw: list[Mapping[str, Any]]) -> tuple[int, int]:
    """(stored, already stored): all validated first; an event_id seen before is not stored again."""
    zone = settings.corp_timezone()
    rows, errors = [], {}
    for index, item in enumerate(raw):
        try:
            rows.append(_event(item, zone))
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
    return len(fresh), len(rows) - len(fresh)
