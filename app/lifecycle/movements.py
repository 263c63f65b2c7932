"""Recording stage movements: the one place a customer's stage changes, with its history row and the listeners.

Movement ids commit in order: every writer takes one lock (PostgreSQL: a transaction advisory lock; SQLite has one
writer anyway) before it inserts movements and keeps it until its commit. So a reader that keeps the last id it
handled (a watermark) never misses a movement, and the listeners called in the writer's transaction are handed
exactly that transaction's movements as the id range (after_id, last_id].
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import func, select, text

from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.lifecycle import config
from app.lifecycle.models import LOST, STAGES, CustomerStage, StageMovement
from app.lifecycle.stages import entered_on

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


def owed_state(tagged: str | None, stage: str, state: str | None, error: str | None) -> tuple[str, str | None]:
    """(mark_state, mark_error) of a customer now in `stage`: nothing owed when WeCom carries it (or 已流失, which no
    relation can carry), a failed mark stays failed with its error, else pending."""
    if stage == LOST or tagged == stage:
        return "done", None
    return ("failed", error) if state == "failed" else ("pending", error)


def move(external_userid: str, to_stage: str, cause: str, at: datetime | None = None,
         last_interaction_at: datetime | None | object = _UNCHANGED) -> StageMovement | None:
    """Put one customer in `to_stage` (in the caller's transaction): a movement row when the stage changed, the
    tag owed to WeCom when it differs from the one WeCom carries; None when the customer was there already."""
    moved = move_many([(external_userid, to_stage, last_interaction_at)], cause, at)
    return moved[0] if moved else None


def move_many(targets: Iterable[tuple[str, str, datetime | None | object]], cause: str,
              at: datetime | None = None) -> list[StageMovement]:
    """`move` for many customers at once: (external_userid, stage, last interaction), one lock and one call of the
    listeners for all of them; returns the movements (customers already in their stage have none)."""
    targets = list(targets)
    if unknown := {stage for _, stage, _ in targets} - set(STAGES):
        raise ValueError(f"unknown lifecycle stage {sorted(unknown)!r}")
    at = at or utcnow()
    zone, thresholds = settings.corp_timezone(), config.current()["thresholds"]
    day = at.astimezone(zone).date()
    rows = {row.external_userid: row for start in range(0, len(targets), 500)
            for row in db.session.scalars(select(CustomerStage).where(
                CustomerStage.external_userid.in_([t[0] for t in targets[start:start + 500]])))}
    changed = []
    for external_userid, stage, last in targets:
        row = rows.get(external_userid)
        if row is not None and last is not _UNCHANGED:
            row.last_interaction_at = last
        if row is None or row.stage != stage:
            changed.append((external_userid, stage, None if last is _UNCHANGED else last))
    if not changed:
        return []
    lock()
    before = last_id()
    moved = []
    for external_userid, stage, last in changed:
        row = rows.get(external_userid)
        if row is None:
            row = rows[external_userid] = CustomerStage(external_userid=external_userid, last_interaction_at=last)
            db.session.add(row)
        moved.append(StageMovement(external_userid=external_userid, from_stage=row.stage, to_stage=stage, day=day,
                                   at=at, cause=cause))
        # a first stage began when the customer's silence reached it, not when the console first looked
        since = day if row.stage is not None else entered_on(stage, last, thresholds, zone, day)
        row.stage, row.since, row.updated_at = stage, since, at
        if stage == LOST:  # no relation left, so no tag left on WeCom's side and none to write
            row.tagged_stage = None
        row.mark_state, row.mark_error = owed_state(row.tagged_stage, stage, row.mark_state, row.mark_error)
    db.session.add_all(moved)
    db.session.flush()
    notify(before, max(m.id for m in moved))
    return moved


def movements_after(watermark: int, limit: int = 1000) -> list[StageMovement]:
    """The next movements after a reader's watermark, oldest first."""
    return list(db.session.scalars(select(StageMovement).where(StageMovement.id > watermark)
                                   .order_by(StageMovement.id).limit(limit)))
