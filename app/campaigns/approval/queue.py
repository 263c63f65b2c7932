"""The supervisors' one approvals queue (待审批): pushes, journey versions, invitations into groups, referral launches.
Each kind registers a function listing its waiting items and one counting them (a single COUNT query: the number on
the home card and the 待审批 button is read on every view), so pushes do not depend on the packages that use the queue."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable


@dataclass(frozen=True)
class Waiting:
    """One item waiting for a supervisor: what (`kind`, a N_ label), its name, the page where the supervisor reads
    it and approves or rejects it with a comment, who submitted it when, and (where known) how many it goes to
    and which version waits. `note` says more in a few words (already translated)."""

    kind: str
    name: str
    url: str
    submitted_by: str
    submitted_at: datetime | None
    audience: int | None = None
    version: int | None = None
    note: str = ""


_sources: list[tuple[Callable[[], list[Waiting]], Callable[[], int]]] = []


def register(source: Callable[[], list[Waiting]], count: Callable[[], int]) -> None:
    """Add a source of waiting items and its count, len(source()) in one query (call at import of the package's
    views)."""
    if (source, count) not in _sources:
        _sources.append((source, count))


def waiting() -> list[Waiting]:
    """Every registered source's waiting items, oldest submission first."""
    items = [item for source, _ in _sources for item in source()]
    return sorted(items, key=lambda w: (w.submitted_at is None, w.submitted_at or datetime.min))


def count() -> int:
    """How many things wait, of every kind: the number on the home card and the 待审批 button."""
    return sum(count() for _, count in _sources)
