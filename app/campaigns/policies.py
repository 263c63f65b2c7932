"""Push policies the console edits: frequency caps, quiet hours, approval threshold, misfire limit (words: app/wordlist)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.campaigns import guards
from app.campaigns.models import CampaignPolicy
from app.campaigns.schedule import MISFIRE_MINUTES
from app.core import audit
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db

DEFAULT_APPROVAL_THRESHOLD = 1000


@dataclass(frozen=True)
class Policies:
    cap_rules: list[guards.CapRule]
    quiet: guards.QuietHours
    approval_threshold: int
    misfire_minutes: int


class PolicyError(UserError):
    """A policy change was refused; the message says which field and why."""


def _stored(key: str, default: Any) -> Any:
    row = db.session.get(CampaignPolicy, key)
    return default if row is None else row.value


def current() -> Policies:
    quiet = _stored("quiet_hours", {"start": "21:00", "end": "09:00"})
    return Policies(
        cap_rules=guards.cap_rules_from(_stored("cap_rules", [r.as_dict() for r in guards.DEFAULT_CAP_RULES])),
        quiet=guards.QuietHours(guards.parse_hhmm(quiet["start"]), guards.parse_hhmm(quiet["end"])),
        approval_threshold=int(_stored("approval_threshold", DEFAULT_APPROVAL_THRESHOLD)),
        misfire_minutes=int(_stored("misfire_minutes", MISFIRE_MINUTES)),
    )


def parse(form: dict[str, Any]) -> dict[str, Any]:
    """Stored values from the settings page's fields; PolicyError names the first bad field."""
    try:
        rules = guards.cap_rules_from(form.get("cap_rules") or [])
        quiet = {"start": guards.parse_hhmm(form["quiet_start"]).strftime("%H:%M"),
                 "end": guards.parse_hhmm(form["quiet_end"]).strftime("%H:%M")}
    except UserError as exc:
        raise PolicyError(exc.message, **exc.params) from None
    numbers = {}
    for key, low, high in (("approval_threshold", 0, 10_000_000), ("misfire_minutes", 1, 1440)):
        try:
            numbers[key] = int(str(form.get(key, "")).strip())
        except ValueError:
            numbers[key] = None
        if numbers[key] is None or not low <= numbers[key] <= high:
            raise PolicyError(N_("%(field)s 须是 %(low)s 到 %(high)s 之间的整数"), field=key, low=low, high=high)
    return {"cap_rules": [r.as_dict() for r in rules], "quiet_hours": quiet, **numbers}


def save(values: dict[str, Any], actor: str) -> list[str]:
    """Store the changed policies in one transaction and audit which changed (with their new values)."""
    changed = []
    with transaction():
        for key, value in values.items():
            row = db.session.get(CampaignPolicy, key)
            if row is not None and row.value == value:
                continue
            if row is None:
                db.session.add(CampaignPolicy(key=key, value=value, updated_by=actor, updated_at=utcnow()))
            else:
                row.value, row.updated_by, row.updated_at = value, actor, utcnow()
            changed.append(key)
        if changed:
            audit.record("campaigns.policies_changed", target=",".join(changed), details={k: values[k] for k in changed})
    return changed
