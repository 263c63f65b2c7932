"""Push policies the console edits: frequency caps, quiet hours, approval threshold, misfire limit (words: app/wordlist)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.campaigns.execution.schedule import MISFIRE_MINUTES
from app.core import audit
from app.core.db import transaction
from app.core.errors import UserError
from app.core.permissions import N_
from app.sending import guards, policies as send_policies

DEFAULT_APPROVAL_THRESHOLD = 1000


@dataclass(frozen=True)
class Policies:
    cap_rules: list[guards.CapRule]
    quiet: guards.QuietHours
    approval_threshold: int
    misfire_minutes: int


class PolicyError(UserError):
    """A policy change was refused; the message says which field and why."""


def current() -> Policies:
    stored = send_policies.stored
    return Policies(
        cap_rules=send_policies.cap_rules(),
        quiet=send_policies.quiet_hours(),
        approval_threshold=int(stored("approval_threshold", DEFAULT_APPROVAL_THRESHOLD)),
        misfire_minutes=int(stored("misfire_minutes", MISFIRE_MINUTES)),
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
    with transaction():
        changed = send_policies.store(values, actor)
        if changed:
            audit.record("campaigns.policies_changed", target=",".join(changed), details={k: values[k] for k in changed})
    return changed
