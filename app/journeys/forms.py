"""The editor's form fields to a raw spec (checked afterwards by spec.check) and back to rows for the editor."""
from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

STEP_FIELD = re.compile(r"^steps-(\d+)-kind$")


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,，\s]+", text or "") if part.strip()]


def _step(form: MultiDict, n: int) -> dict:
    get = lambda name: (form.get(f"steps-{n}-{name}") or "").strip()  # noqa: E731
    step = {"id": get("id"), "kind": get("kind"), "days": get("days") or 0, "at": get("at"), "text": get("text"),
            "category": get("category"), "title": get("title"), "due_hours": get("due_hours") or 24,
            "action": get("action"), "tag_id": get("tag_id")}
    field = get("if_field")
    if field == "ordered":
        step["if"] = {"field": field, "value": get("if_value") == "yes"}
    elif field:
        step["if"] = {"field": field, "in": form.getlist(f"steps-{n}-if_in")}
    if field:
        step["otherwise"] = get("otherwise") or "skip"
    return step


def spec_from(form: MultiDict) -> dict:
    """The raw spec of a submitted editor: steps in the order the page shows them (steps-N-order), blank rows
    and rows marked for removal left out."""
    rows = []
    for key in form:
        match = STEP_FIELD.match(key)
        if not match:
            continue
        n = int(match.group(1))
        if not form.get(key) or form.get(f"steps-{n}-remove"):
            continue
        try:
            order = float(form.get(f"steps-{n}-order") or n)
        except ValueError:
            order = n
        rows.append((order, n))
    trigger = {"kind": form.get("trigger_kind", ""), "stage": form.get("trigger_stage", ""),
               "days": form.get("trigger_days") or 0, "states": _split(form.get("trigger_states", "")),
               "tag_id": form.get("trigger_tag_id", "").strip()}
    return {"trigger": trigger, "steps": [_step(form, n) for _order, n in sorted(rows)],
            "exits": form.getlist("exits"), "reentry_days": (form.get("reentry_days") or "").strip() or None,
            "holdout_percent": form.get("holdout_percent", "10"), "guardrail_percent": form.get("guardrail_percent", "2"),
            "slots": _split(form.get("slots", "")) or ["10:00", "16:00"]}
