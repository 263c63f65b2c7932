"""The rule shapes the tags page offers as a form, turned into segment rules and read back (no database).

Segment rule format: app/segments/rules.py. A rule of any other shape is edited as its JSON.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from app.core.errors import UserError
from app.core.permissions import N_

SPENT, CATEGORY, STATE, CUSTOM = "spent", "category", "state", "json"
KIND_LABELS = {SPENT: N_("近 N 天消费满金额"), CATEGORY: N_("近 N 天买过某品类"), STATE: N_("来自某渠道（state）"),
               CUSTOM: N_("自定义规则（JSON）")}
STATE_MATCHES = {"equals": N_("等于"), "starts_with": N_("开头是")}


class PresetError(UserError):
    """A form value that cannot make a rule."""


def _days(raw: str) -> int:
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise PresetError(N_("天数需为 1 到 3650 的整数")) from None
    if not 1 <= days <= 3650:
        raise PresetError(N_("天数需为 1 到 3650 的整数"))
    return days


def _fen(raw: str) -> int:
    try:
        amount = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise PresetError(N_("金额需为数字，例如 1000 或 99.5")) from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PresetError(N_("金额需大于 0，最多两位小数"))
    return int(amount * 100)


def build(kind: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The segment rule for a form; PresetError names what is missing or wrong."""
    if kind == SPENT:
        condition = {"field": "order_amount", "operator": "between",
                     "value": {"days": _days(form.get("spent_days", "")), "min": _fen(form.get("spent_yuan", ""))}}
    elif kind == CATEGORY:
        categories = [c.strip() for c in form.get("categories", "").replace("，", ",").split(",") if c.strip()]
        if not categories:
            raise PresetError(N_("请填写品类（多个用逗号分隔）"))
        condition = {"field": "category", "operator": "any",
                     "value": {"days": _days(form.get("category_days", "")), "categories": categories}}
    elif kind == STATE:
        state, match = form.get("state", "").strip(), form.get("state_match", "equals")
        if not state:
            raise PresetError(N_("请填写渠道 state"))
        condition = {"field": "state", "operator": match if match in STATE_MATCHES else "equals", "value": state}
    elif kind == CUSTOM:
        try:
            rule = json.loads(form.get("rule_json", ""))
        except ValueError as exc:
            raise PresetError(N_("规则 JSON 无法解析：%(error)s"), error=str(exc)) from None
        if not isinstance(rule, dict):
            raise PresetError(N_("规则 JSON 需为一个对象，例如 {\"op\": \"and\", \"rules\": [...]}"))
        return rule
    else:
        raise PresetError(N_("请选择规则类型"))
    return {"op": "and", "rules": [condition]}


def read(rule: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """(kind, form values) that `build` turns back into this rule; a shape without a form is CUSTOM."""
    conditions = rule.get("rules") if rule.get("op") == "and" else None
    c = conditions[0] if isinstance(conditions, list) and len(conditions) == 1 else {}
    value = c.get("value")
    if c.get("field") == "order_amount" and isinstance(value, dict) and set(value) == {"days", "min"}:
        return SPENT, {"spent_days": str(value["days"]), "spent_yuan": str(Decimal(value["min"]) / 100)}
    if c.get("field") == "category" and isinstance(value, dict):
        return CATEGORY, {"category_days": str(value.get("days", "")), "categories": ", ".join(value.get("categories", []))}
    if c.get("field") == "state" and c.get("operator") in STATE_MATCHES:
        return STATE, {"state": str(value), "state_match": c["operator"]}
    return CUSTOM, {"rule_json": json.dumps(rule, ensure_ascii=False, indent=2)}
