"""Compare-then-write bulk upserts keyed by WeCom ids (new rows inserted, changed rows updated), and WeCom times."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from sqlalchemy import ColumnElement, select, text, update

from app.core.db import upsert_ignore
from app.extensions import db

Row = dict[str, Any]


def from_epoch(seconds) -> datetime | None:
    """A WeCom unix timestamp (int or string) as an aware UTC datetime; None when absent."""
    return datetime.fromtimestamp(int(seconds), timezone.utc) if seconds not in (None, "") else None


@dataclass
class Counts:
    """What a merge did, per entity."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        self.added += other.added
        self.changed += other.changed
        self.removed += other.removed
        return self


def merge(model, keys: tuple[str, ...], incoming: Iterable[Row], scope: ColumnElement[bool], *,
          removed_col: str | None = None, now: datetime | None = None,
          adjust: Callable[[Row, Row], Row] | None = None) -> Counts:
    """Upsert `incoming` rows (keyed by `keys`) against the existing rows matched by `scope`.

    Only differing fields are written. With `removed_col`, existing rows in scope that are not incoming and not yet
    removed get `removed_col = now`. `adjust(existing, new)` may rewrite a new row before it is compared.
    """
    table = model.__table__
    existing = {tuple(r[k] for k in keys): r for r in db.session.execute(select(table).where(scope)).mappings()}
    counts, inserts, updates, seen = Counts(), [], [], set()
    for row in incoming:
        key = tuple(row[k] for k in keys)
        if key in seen:
            continue
        seen.add(key)
        old = existing.get(key)
        if old is None:
            inserts.append(row)
            continue
        if adjust:
            row = adjust(old, row)
        diff = {k: v for k, v in row.items() if old[k] != v}
        if diff:
            updates.append({"id": old["id"], **diff})
    counts.added, counts.changed = len(inserts), len(updates)
    if removed_col:
        removals = [{"id": old["id"], removed_col: now} for key, old in existing.items()
                    if key not in seen and old[removed_col] is None]
        counts.removed = len(removals)
        updates += removals
    if inserts:
        # Rows an event handler inserted meanwhile are left alone: they are as fresh as ours.
        db.session.execute(upsert_ignore(model, {}, list(keys)), inserts)
    for group in _same_columns(updates):
        db.session.execute(update(model), group)
    return counts


def refresh_statistics(*models) -> None:
    """PostgreSQL only: ANALYZE tables a sync just filled, so the planner stops treating them as nearly empty."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in models)))


def _same_columns(rows: list[Row]) -> list[list[Row]]:
    """Bulk UPDATE by primary key wants the same columns in every row of one statement."""
    groups: dict[frozenset, list[Row]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())
