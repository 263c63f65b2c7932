"""Recording stage movements: the one place a customer's stage changes, with its history row and the listeners.

Movement ids commit in order: every writer takes one lock (PostgreSQL: a transaction advisory lock; SQLite has one
writer anyway) before it inserts movements and keeps it until its commit. So a reader that keeps the last id it
handled (a watermark) never misses a movement, and the listeners called in the writer's transaction are handed
exactly that transaction's movements as the id range (after_id, last_id].
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import func, select, text

from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.lifecycle.models import STAGES, CustomerStage, StageMovement

LOCK_KEY = 74_530_161  # pg_advisory_xact_lock key of the movement writers
Listener = Callable[[int, int], None]  # (after_id, last_id): the movements this transaction recorded
_listeners: list[Listener] = []
_UNCHANGED = object()


def on_movements(listener: Listener) -> None:
    """Call `listener(after_id, last_id)` in the same transaction whenever movements are recorded (once per batch;
    the rows are those of lifecycle_movements with after_id < id <= last_id). Register at import of your package."""
    if listener not in _listeners:
        _listeners.append(listener)


def lock() -> None:
    """Serialise movement writers until the caller's commit (see the module docstring)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def last_id() -> int:
    return db.session.scalar(select(func.max(StageMovement.id))) or 0


def notify(after_id: int, last: int) -> None:
    """Tell the listeners about the movements with after_id < id <= last (none when the range is empty)."""
    if last > after_id:
        for listener in _listeners:
            listener(after_id, last)


def move(external_userid: str, to_stage: str, cause: str, at: datetime | None = None,
         last_interaction_at: datetime | None | object = _UNCHANGED) -> StageMovement | None:
    """Put one customer in `to_stage` (in the caller's transaction): a movement row when the stage changed, the
    tag owed to WeCom when it differs from the one WeCom carries; None when the customer was there already."""
    if to_stage not in STAGES:
        raise ValueError(f"unknown lifecycle stage {to_stage!r}")
    at = at or utcnow()
    day = at.astimezone(settings.corp_timezone()).date()
    row = db.session.get(CustomerStage, external_userid)
    if last_interaction_at is not _UNCHANGED and row is not None:
        row.last_interaction_at = last_interaction_at
    if row is not None and row.stage == to_stage:
        return None
    lock()
    before = last_id()
    if row is None:
        row = CustomerStage(external_userid=external_userid, tagged_stage=None,
                            last_interaction_at=None if last_interaction_at is _UNCHANGED else last_interaction_at)
        db.session.add(row)
    movement = StageMovement(external_userid=external_userid, from_stage=row.stage, to_stage=to_stage, day=day,
                             at=at, cause=cause)
    row.stage, row.since, row.updated_at = to_stage, day, at
    row.mark_state, row.mark_error = ("done", None) if row.tagged_stage == to_stage else ("pending", row.mark_error)
    db.session.add(movement)
    db.session.flush()
    notify(before, movement.id)
    return movement


def movements_after(watermark: int, limit: int = 1000) -> list[StageMovement]:
    """The next movements after a reader's watermark, oldest first."""
    return list(db.session.scalars(select(StageMovement).where(StageMovement.id > watermark)
                                   .order_by(StageMovement.id).limit(limit)))
