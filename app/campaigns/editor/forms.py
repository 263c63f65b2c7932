"""The campaign editor's form fields to a spec (see editing.py) and back; plain data, no database."""
from __future__ import annotations

import json
from typing import Any

from app.core import content

# Fields the push editor shows per attachment kind: no media_id is typed anywhere (images come from the media
# library below the editor, a mini program's cover from the library's images).
EDITOR_FIELDS = {**content.FIELDS,
                 "image": tuple(f for f in content.FIELDS["image"] if f[0] != "media_id"),
                 "miniprogram": tuple(f for f in content.FIELDS["miniprogram"] if f[0] != "pic_media_id")}


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().lstrip("-").isdigit()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]


def spec_from_form(form) -> dict[str, Any]:
    """The spec the editor's fields describe; bad JSON in the rule box becomes a rule the checker reports."""
    text, attachments = content.from_form(form)  # the shared content editor's fields, then the library's files
    attachments += content.library_from_form(form.getlist("library"))
    body = {"text": text, "attachments": attachments}
    variants = []
    if form.get("variant_b_text", "").strip():
        split_a = form.get("split_a", "50")
        split_b = 100 - int(split_a) if split_a.isdigit() else 0
        variants = [{"split_percent": split_a, "content": body},
                    {"split_percent": split_b, "content": {"text": form["variant_b_text"], "attachments": attachments}}]
    spec: dict[str, Any] = {
        "name": form.get("name", ""), "category": form.get("category", ""), "chat_type": form.get("chat_type", ""),
        "content": body, "variants": variants,
        "holdout_percent": form.get("holdout_percent", "0"), "attribution_days": form.get("attribution_days", "3"),
        "schedule": {"kind": form.get("schedule_kind", "now"), "run_at": form.get("run_at", ""),
                     "time_of_day": form.get("time_of_day", ""), "weekdays": _ints(form.getlist("weekdays")),
                     "ends_on": form.get("ends_on", "")},
        "sender_userids": form.getlist("sender_userids"),
        "sender_department_ids": _ints(form.getlist("sender_department_ids")),
        "group_filter": {"owners": form.getlist("group_owners"), "name_contains": form.get("group_name", ""),
                         "chat_ids": [c for value in form.getlist("group_chat_ids") for c in _lines(value)]},
    }
    if form.get("audience") == "rule":
        try:
            spec["audience_rule"] = json.loads(form.get("audience_rule") or "{}")
        except json.JSONDecodeError:
            spec["audience_rule"] = {"op": "json", "rules": "规则不是有效的 JSON"}
    else:
        spec["segment_id"] = form.get("segment_id") or None
    return spec


def form_values(spec: dict[str, Any]) -> dict[str, Any]:
    """What the editor shows for a spec: the variants folded back into "text" and "variant B"."""
    body = spec.get("content") or {}
    variants = spec.get("variants") or []
    values = dict(spec)
    values["text"] = body.get("text", "")
    values["attachments"] = list(body.get("attachments") or [])
    values["editor_attachments"] = [a for a in values["attachments"] if content.library_id(a) is None]
    values["picked"] = [i for i in map(content.library_id, values["attachments"]) if i is not None]
    values["variant_b_text"] = variants[1]["content"].get("text", "") if len(variants) > 1 else ""
    values["split_a"] = variants[0]["split_percent"] if variants else 50
    values["audience"] = "rule" if spec.get("audience_rule") is not None and not spec.get("segment_id") else "segment"
    rule = spec.get("audience_rule")
    values["audience_rule_text"] = json.dumps(rule, ensure_ascii=False, indent=2) if rule is not None else \
        '{"op": "and", "rules": []}'
    values["schedule"] = spec.get("schedule") or {"kind": "now"}
    values["group_filter"] = spec.get("group_filter") or {}
    return values
