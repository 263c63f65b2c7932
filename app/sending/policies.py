"""The engine's policies (frequency caps, quiet hours) and the store of every send policy, by key; the push settings
page edits them (campaigns.policies)."""
from __future__ import annotations

from typing import Any

from app.core.db import utcnow
from app.extensions import db
from app.sending import guards
from app.sending.models import SendPolicy

DEFAULT_QUIET = {"start": "21:00", "end": "09:00"}


def stored(key: str, default: Any) -> Any:
    row = db.session.get(SendPolicy, key)
    return default if row is None else row.value


def cap_rules() -> list[guards.CapRule]:
    return guards.cap_rules_from(stored("cap_rules", [r.as_dict() for r in guards.DEFAULT_CAP_RULES]))


def quiet_hours() -> guards.QuietHours:
    quiet = stored("quiet_hours", DEFAULT_QUIET)
    return guards.QuietHours(guards.parse_hhmm(quiet["start"]), guards.parse_hhmm(quiet["end"]))


def store(values: dict[str, Any], actor: str) -> list[str]:
    """Write the values that changed (inside the caller's transaction); their keys."""
    changed = []
    for key, value in values.items():
        row = db.session.get(SendPolicy, key)
        if row is not None and row.value == value:
            continue
        if row is None:
            db.session.add(SendPolicy(key=key, value=value, updated_by=actor, updated_at=utcnow()))
        else:
            row.value, row.updated_by, row.updated_at = value, actor, utcnow()
        changed.append(key)
    return changed
