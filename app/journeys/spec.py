"""A journey's spec (pure): trigger, steps on a timeline, exits, re-entry, holdout, guardrail; checks and templates.

    {"trigger": {"kind": "stage", "stage": "dormant"},
     "steps": [{"id": "x3f9a01c2", "kind": "message", "text": "...", "category": "promotion"},
               {"id": "...", "kind": "wait", "days": 3, "at": "10:00"},
               {"id": "...", "kind": "task", "title": "一对一关怀", "due_hours": 24},
               {"id": "...", "kind": "tag", "action": "add", "tag_id": "et..."},
               {"id": "...", "kind": "message", "text": "...", "if": {"field": "class8", "in": [...]},
                "otherwise": "exit"}],
     "exits": ["order", "event", "relation_deleted", "opt_out"], "reentry_days": 90 (None: never again),
     "holdout_percent": 10, "guardrail_percent": 2, "slots": ["10:00", "16:00"]}
"""
from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from app.core.errors import UserError
from app.core.permissions import N_
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.sending.guards import parse_hhmm

TRIGGERS = {
    "stage": N_("进入生命周期阶段"),
    "channel": N_("通过渠道添加（渠道 state）"),
    "tag": N_("打上标签"),
    "first_order": N_("首次下单"),
    "no_order_after_add": N_("添加 N 天后仍未下单"),
    "customer_deleted_staff": N_("客户删除了成员"),
}
STEPS = {"wait": N_("等待"), "message": N_("一对一消息"), "task": N_("成员任务"), "notify": N_("通知成员和主管"),
         "tag": N_("打标签或移除标签")}
TAG_ACTIONS = {"add": N_("打上标签"), "remove": N_("移除标签")}
STEP_ID = re.compile(r"^[a-z][a-z0-9]{0,15}$")
EXITS = ("order", "event", "relation_deleted", "opt_out", "stage_changed")
STAGE_LABELS = {"active": N_("活跃"), "warning": N_("预警"), "dormant": N_("沉睡"), "deep_dormant": N_("深度沉睡"),
                "lost": N_("已流失")}
CONDITION_FIELDS = {"class8": N_("RFM 八类"), "segment": N_("RFM 分群"), "ordered": N_("进入后下过单")}
CATEGORIES = ("promotion", "content", "service")
MAX_STEPS = 20
MAX_TEXT = 2000
HIGH_TIERS = ["important_value", "important_develop", "important_retain", "important_recover"]


class SpecError(UserError):
    """A journey that cannot be saved as it is; the message names the field or step."""


def _int(value: Any, low: int, high: int, what: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise SpecError(N_("%(what)s须是 %(low)s 到 %(high)s 之间的整数"), what=what, low=low, high=high)
    return number


def _trigger(raw: dict) -> dict:
    kind = (raw or {}).get("kind")
    if kind not in TRIGGERS:
        raise SpecError(N_("请选择触发条件"))
    out: dict[str, Any] = {"kind": kind}
    if kind == "stage":
        if raw.get("stage") not in STAGE_LABELS:
            raise SpecError(N_("请选择进入的生命周期阶段"))
        out["stage"] = raw["stage"]
    if kind == "no_order_after_add":
        out["days"] = _int(raw.get("days"), 1, 365, "天数")
    if kind == "channel":
        out["states"] = sorted({str(s).strip() for s in raw.get("states") or [] if str(s).strip()})
    if kind == "tag":
        tag_id = str(raw.get("tag_id") or "").strip()
        if not tag_id:
            raise SpecError(N_("请选择触发的标签"))
        out["tag_id"] = tag_id
    return out


def _condition(raw: dict | None, number: int) -> dict | None:
    if not raw or not raw.get("field"):
        return None
    field = raw["field"]
    if field not in CONDITION_FIELDS:
        raise SpecError(N_("第 %(n)s 步的条件无法识别"), n=number)
    if field == "ordered":
        return {"field": field, "value": bool(raw.get("value"))}
    known = CLASS_LABELS if field == "class8" else SEGMENT_LABELS
    values = [v for v in raw.get("in") or [] if v in known]
    if not values:
        raise SpecError(N_("第 %(n)s 步的条件至少选一个分类"), n=number)
    return {"field": field, "in": sorted(values)}


def _step(raw: dict, number: int) -> dict:
    kind = (raw or {}).get("kind")
    if kind not in STEPS:
        raise SpecError(N_("第 %(n)s 步的类型无法识别"), n=number)
    given = str(raw.get("id") or "")
    out: dict[str, Any] = {"id": given if STEP_ID.match(given) else "", "kind": kind}
    if kind == "wait":
        out["days"] = _int(raw.get("days") or 0, 0, 365, f"第 {number} 步的天数")
        at = (raw.get("at") or "").strip()
        out["at"] = parse_hhmm(at).strftime("%H:%M") if at else None
        if not out["days"] and not out["at"]:
            raise SpecError(N_("第 %(n)s 步：等待至少 1 天或到某个时刻"), n=number)
        return out
    if kind == "message":
        text = (raw.get("text") or "").strip()
        if not text or len(text) > MAX_TEXT:
            raise SpecError(N_("第 %(n)s 步的消息内容不能为空，且不超过 2000 字"), n=number)
        out["text"] = text
        out["category"] = raw.get("category") if raw.get("category") in CATEGORIES else "promotion"
    if kind == "tag":
        tag_id = str(raw.get("tag_id") or "").strip()
        if not tag_id or raw.get("action") not in TAG_ACTIONS:
            raise SpecError(N_("第 %(n)s 步：请选择要打上或移除的标签"), n=number)
        out["action"], out["tag_id"] = raw["action"], tag_id
    if kind in ("task", "notify"):
        title = (raw.get("title") or "").strip()
        if not title or len(title) > 64:
            raise SpecError(N_("第 %(n)s 步的任务标题不能为空，且不超过 64 字"), n=number)
        out["title"] = title
        out["due_hours"] = _int(raw.get("due_hours") or 24, 1, 24 * 30, f"第 {number} 步的完成时限（小时）")
    if condition := _condition(raw.get("if"), number):
        out["if"] = condition
        out["otherwise"] = "exit" if raw.get("otherwise") == "exit" else "skip"
    return out


def check(raw: dict) -> dict:
    """The spec as stored, or SpecError naming the first problem. Nothing outside the known keys survives."""
    steps = raw.get("steps") or []
    if not steps:
        raise SpecError(N_("旅程至少要有一个步骤"))
    if len(steps) > MAX_STEPS:
        raise SpecError(N_("旅程最多 %(n)s 个步骤"), n=MAX_STEPS)
    reentry = raw.get("reentry_days")
    slots = sorted({parse_hhmm(s).strftime("%H:%M") for s in raw.get("slots") or ["10:00", "16:00"]})
    return {
        "trigger": _trigger(raw.get("trigger") or {}),
        "steps": _identified([_step(s, i + 1) for i, s in enumerate(steps)]),
        "exits": [e for e in EXITS if e in (raw.get("exits") or [])],
        "reentry_days": None if reentry in (None, "") else _int(reentry, 1, 3650, "再次进入的间隔天数"),
        "holdout_percent": _int(raw.get("holdout_percent", 10), 0, 50, "对照组比例"),
        "guardrail_percent": _int(raw.get("guardrail_percent", 2), 1, 100, "护栏阈值（%）"),
        "slots": slots,
    }


def _identified(steps: list[dict]) -> list[dict]:
    """Every step keeps the identity it came with (the editor posts it back), so a new version can tell which step
    of the old one each is; a new step, or a copy of another's identity, gets a fresh one."""
    seen: set[str] = set()
    for step in steps:
        while not step["id"] or step["id"] in seen:
            step["id"] = "x" + secrets.token_hex(4)  # never all digits: a task key ending in digits is a position
        seen.add(step["id"])
    return steps


def step_ids(spec: dict) -> list[str]:
    """Each step's identity in timeline order; steps saved before identities existed are known by position."""
    return [step.get("id") or f"s{i + 1}" for i, step in enumerate(spec.get("steps") or [])]


def tags_used(spec: dict) -> list[str]:
    return [step["tag_id"] for step in spec.get("steps") or [] if step["kind"] == "tag"]


def messages(spec: dict) -> list[tuple[int, dict]]:
    return [(i, s) for i, s in enumerate(spec.get("steps") or []) if s["kind"] == "message"]


TEMPLATES: dict[str, tuple[str, dict]] = {
    "wakeup": (N_("沉睡唤醒"), {
        "trigger": {"kind": "stage", "stage": "dormant"},
        "steps": [
            {"kind": "message", "category": "promotion",
             "text": "好久不见！送您一张 20 元回归券，7 天内有效，点我的名片就能领。"},
            {"kind": "wait", "days": 3, "at": "10:00"},
            {"kind": "task", "title": "一对一关怀：问问最近的需要", "due_hours": 24},
            {"kind": "wait", "days": 4, "at": "10:00"},
            {"kind": "message", "category": "promotion", "text": "回归券明天到期，给您留了一份老客专享礼。",
             "if": {"field": "class8", "in": HIGH_TIERS}, "otherwise": "exit"},
        ],
        "exits": list(EXITS), "reentry_days": 90, "holdout_percent": 10, "guardrail_percent": 2}),
    "newcomer": (N_("新客 7 天"), {
        "trigger": {"kind": "channel", "states": []},
        "steps": [
            {"kind": "wait", "days": 1, "at": "10:00"},
            {"kind": "message", "category": "content", "text": "这是新手指南：怎么下单、怎么找我、有哪些福利。"},
            {"kind": "wait", "days": 2, "at": "10:00"},
            {"kind": "message", "category": "promotion", "text": "首单立减 15 元，3 天内有效。",
             "if": {"field": "ordered", "value": False}, "otherwise": "skip"},
            {"kind": "wait", "days": 4, "at": "10:00"},
            {"kind": "task", "title": "新客回访：第 7 天问候", "due_hours": 24},
        ],
        "exits": ["relation_deleted", "opt_out"], "reentry_days": None, "holdout_percent": 10,
        "guardrail_percent": 2}),
    "churn_alert": (N_("流失提醒"), {
        "trigger": {"kind": "customer_deleted_staff"},
        "steps": [{"kind": "notify", "title": "客户删除了您：看看 RFM 和最近订单", "due_hours": 24}],
        "exits": [], "reentry_days": 1, "holdout_percent": 0, "guardrail_percent": 100}),
}


def template(key: str) -> tuple[str, dict]:
    if key not in TEMPLATES:
        raise SpecError(N_("没有这个模板"))
    name, spec = TEMPLATES[key]
    return name, check(copy.deepcopy(spec))
