"""What else waits in the supervisors' approvals queue besides pushes (a journey's new version): each source
registers a function listing its waiting items, so pushes do not depend on the packages that use the queue."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable


@dataclass(frozen=True)
class Waiting:
    """One item waiting for a supervisor: what (`kind`, a N_ label), its name and page, the version and who
    submitted it when."""

    kind: str
    name: str
    url: str
    version: int
    submitted_by: str
    submitted_at: datetime | None


_sources: list[Callable[[], list[Waiting]]] = []


def register(source: Callable[[], list[Waiting]]) -> None:
    """Add a source of waiting items (call at import of the package's views)."""
    if source not in _sources:
        _sources.append(source)


def waiting() -> list[Waiting]:
    """Every registered source's waiting items, oldest submission first."""
    items = [item for source in _sources for item in source()]
    return sorted(items, key=lambda w: (w.submitted_at is None, w.submitted_at or datetime.min))
