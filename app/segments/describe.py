"""A segment rule in words: one sentence per condition, with names (tags, staff, channels, groups), for approvers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.contact_list import staff_names, tag_names
from app.contacts.models import CustomerGroup, Department
from app.extensions import db
from app.lifecycle.labels import STAGE_LABELS
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.segments.rule_checks import FIELDS
from app.welcome.channel_names import names_by_state


@dataclass(frozen=True)
class Line:
    """One line of the description: its nesting depth and the sentence."""

    depth: int
    text: str


@dataclass
class _Names:
    """Display names of everything a rule names, looked up once."""

    tags: dict[str, str]
    staff: dict[str, str]
    departments: dict[int, str]
    groups: dict[str, str]
    channels: dict[str, str]

    @classmethod
    def of(cls, rule: Any) -> "_Names":
        conditions = list(_conditions(rule))

        def values(field: str) -> list:
            return [v for c in conditions if c.get("field") == field and isinstance(c.get("value"), list)
                    for v in c["value"]]

        departments = values("department")
        groups = values("group")
        return cls(tag_names(), staff_names(values("staff")),
                   dict(db.session.execute(select(Department.id, Department.name).where(Department.id.in_(departments))).all())
                   if departments else {},
                   dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name)
                                .where(CustomerGroup.chat_id.in_(groups))).all()) if groups else {},
                   names_by_state(c.get("value") for c in conditions
                                  if c.get("field") == "state" and isinstance(c.get("value"), str)))


def _conditions(node: Any):
    if isinstance(node, dict) and isinstance(node.get("rules"), list):
        for child in node["rules"]:
            yield from _conditions(child)
    elif isinstance(node, dict):
        yield node


def _joined(values: list, names: dict | Callable[[Any], str]) -> str:
    name = names if callable(names) else (lambda v: names.get(v) or str(v))
    return "、".join(f"「{name(v)}」" for v in values)


def _money(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _bounds(value: dict, show=str) -> str:
    low, high = value.get("min"), value.get("max")
    if low is not None and high is not None:
        return _("%(low)s 到 %(high)s", low=show(low), high=show(high))
    if low is not None:
        return _("至少 %(low)s", low=show(low))
    return _("至多 %(high)s", high=show(high))


def _sentence(node: dict, names: _Names) -> str:
    field, op, value = node.get("field"), node.get("operator"), node.get("value")
    if field == "tags":
        template = {"any": _("带有标签 %(values)s 中的任意一个"), "all": _("同时带有标签 %(values)s"),
                    "none": _("不带标签 %(values)s 中的任何一个")}[op]
        return template % {"values": _joined(value, names.tags)}
    if field == "rfm_segment":
        return _("RFM 分层是 %(values)s 之一", values=_joined(value, lambda k: _(SEGMENT_LABELS.get(k, k))))
    if field == "rfm_class8":
        return _("RFM 八类是 %(values)s 之一", values=_joined(value, lambda k: _(CLASS_LABELS.get(k, k))))
    if field == "lifecycle_stage":
        return _("生命周期阶段是 %(values)s 之一", values=_joined(value, lambda k: _(STAGE_LABELS.get(k, k))))
    if field in ("r_score", "f_score", "m_score"):
        return _("%(field)s在 %(low)s 到 %(high)s 之间", field=_(FIELDS[field].label), low=value["min"],
                 high=value["max"])
    if field == "order_count":
        return _("最近 %(days)s 天的订单数 %(range)s 笔", days=value["days"], range=_bounds(value))
    if field == "order_amount":
        return _("最近 %(days)s 天的消费金额 %(range)s 元", days=value["days"], range=_bounds(value, _money))
    if field == "category":
        return _("最近 %(days)s 天买过类目 %(values)s", days=value["days"],
                 values=_joined(value["categories"], {}))
    if field == "last_order":
        if op == "never":
            return _("从未下过单")
        if op == "before":
            return _("最近一次下单在 %(date)s 之前", date=value["date"])
        return (_("最近 %(days)s 天内下过单", days=value["days"]) if op == "within"
                else _("最近 %(days)s 天内没有下单", days=value["days"]))
    if field == "added":
        return (_("最近 %(days)s 天内添加", days=value["days"]) if op == "within"
                else _("在 %(start)s 到 %(end)s 之间添加", start=value["from"], end=value["to"]))
    if field == "state":
        channel = names.channels.get(value) if op == "equals" else None
        if channel:
            return _("来自渠道「%(name)s」", name=channel)
        return (_("来自渠道 state「%(state)s」", state=value) if op == "equals"
                else _("来自 state 以「%(state)s」开头的渠道", state=value))
    if field == "staff":
        return _("由 %(values)s 跟进", values=_joined(value, names.staff))
    if field == "department":
        return _("由部门 %(values)s（含下级）的成员跟进", values=_joined(value, names.departments))
    if field == "group":
        if op == "any":
            return _("在某个客户群里")
        if op == "none":
            return _("不在任何客户群里")
        return _("在客户群 %(values)s 之一里", values=_joined(value, names.groups))
    if field == "activity":
        return (_("最近 %(days)s 天内活跃过", days=value["days"]) if op == "within"
                else _("最近 %(days)s 天内没有活跃", days=value["days"]))
    if field == "lost":
        return _("已流失") if value else _("未流失")
    return str(node)


def lines(rule: Any) -> list[Line]:
    """The rule (valid: app/segments/rule_checks.py) as lines: a group says whether all or any of what follows
    must hold, each condition is a sentence; the empty rule says it takes every customer."""
    names = _Names.of(rule)
    found: list[Line] = []

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, dict) and isinstance(node.get("rules"), list):
            if depth == 0 and not node["rules"]:
                found.append(Line(0, _("全部客户（没有筛选条件）")))
                return
            if len(node["rules"]) > 1 or depth > 0:
                found.append(Line(depth, _("同时满足以下全部条件：") if node.get("op") == "and"
                                  else _("满足以下任一条件：")))
                depth += 1
            for child in node["rules"]:
                walk(child, depth)
        else:
            found.append(Line(depth, _sentence(node, names)))

    walk(rule, 0)
    return found
