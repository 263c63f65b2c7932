"""Validation of segment rule trees (format: app/segments/rules.py): every problem, with its JSONPath and a message."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from app.core import bounds
from app.core.permissions import N_
from app.lifecycle.labels import STAGE_LABELS
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS

MAX_DEPTH = 8
MAX_NODES = 200
MAX_DAYS = 3650
MAX_VALUES = 1000      # tags, staff, groups... chosen in one condition
MAX_VALUE_LENGTH = 128


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule: where (a JSONPath such as ``$.rules[1].value``) and why.

    `msgid` is the Chinese message with %(name)s placeholders (a translation key); `message` fills them in.
    """

    path: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def message(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def as_dict(self, translate: Callable[..., str] | None = None) -> dict[str, str]:
        message = translate(self.msgid, **self.params) if translate else self.message
        return {"path": self.path, "message": message}


class RuleError(ValueError):
    """A rule that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def _days(value, problems, path) -> None:
    if not isinstance(value, dict) or not _is_int(value.get("days")) or not 1 <= value["days"] <= MAX_DAYS:
        problems.append(Problem(path, N_("需要天数 days（1 到 %(max)s 的整数）"), {"max": MAX_DAYS}))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_date(text) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


def _dates_in_range(days, problems, path) -> bool:
    if all(bounds.date_in_range(day) for day in days):
        return True
    problems.append(Problem(path, N_("日期需在 %(first)s 到 %(last)s 之间"),
                            {"first": bounds.FIRST_DAY.isoformat(), "last": bounds.LAST_DAY.isoformat()}))
    return False


def _strings(value, problems, path, empty: str, allowed: dict | None = None, unknown_msgid: str = "") -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(path, empty))
    elif len(value) > MAX_VALUES:
        problems.append(Problem(path, N_("最多选择 %(max)s 项（现有 %(count)s 项）"),
                                {"max": MAX_VALUES, "count": len(value)}))
    elif any(len(v) > MAX_VALUE_LENGTH or "\x00" in v for v in value):
        problems.append(Problem(path, N_("每项最长 %(max)s 个字符，且不能含 NUL 字符"), {"max": MAX_VALUE_LENGTH}))
    elif allowed is not None and (unknown := [v for v in value if v not in allowed]):
        problems.append(Problem(path, unknown_msgid, {"keys": "、".join(unknown)}))


def _check_tags(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个标签"))


def _check_segment(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个 RFM 分层"), SEGMENT_LABELS, N_("未知的 RFM 分层：%(keys)s"))


def _check_class8(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个 RFM 八类"), CLASS_LABELS, N_("未知的 RFM 八类：%(keys)s"))


def _check_stage(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个生命周期阶段"), STAGE_LABELS, N_("未知的生命周期阶段：%(keys)s"))


def _check_score(op, value, problems, path):
    ok = isinstance(value, dict) and all(_is_int(value.get(k)) and 1 <= value[k] <= 5 for k in ("min", "max"))
    if not ok:
        problems.append(Problem(path, N_("评分范围需要 min 和 max（1 到 5 的整数）")))
    elif value["min"] > value["max"]:
        problems.append(Problem(path, N_("评分下限不能大于上限")))


def _check_window_range(op, value, problems, path):
    _days(value, problems, path)
    if not isinstance(value, dict):
        return
    limits = [value.get(k) for k in ("min", "max")]
    if all(b is None for b in limits):
        problems.append(Problem(path, N_("请填写下限或上限（至少一个）")))
    elif not all(b is None or (_is_int(b) and 0 <= b <= bounds.MAX_RULE_NUMBER) for b in limits):
        problems.append(Problem(path, N_("下限和上限需为 0 到 %(max)s 的整数（金额以分计）"), {"max": bounds.MAX_RULE_NUMBER}))
    elif None not in limits and limits[0] > limits[1]:
        problems.append(Problem(path, N_("下限不能大于上限")))


def _check_category(op, value, problems, path):
    _days(value, problems, path)
    _strings(value.get("categories") if isinstance(value, dict) else None, problems, path,
             N_("请至少选择一个商品类目"))


def _check_last_order(op, value, problems, path):
    if op in ("within", "not_within"):
        _days(value, problems, path)
    elif op == "before":
        day = parse_date(value.get("date")) if isinstance(value, dict) else None
        if day is None:
            problems.append(Problem(path, N_("需要日期 date（YYYY-MM-DD）")))
        else:
            _dates_in_range([day], problems, path)


def _check_added(op, value, problems, path):
    if op == "within":
        _days(value, problems, path)
        return
    start, end = (parse_date(value.get(k)) if isinstance(value, dict) else None for k in ("from", "to"))
    if start is None or end is None:
        problems.append(Problem(path, N_("需要起止日期 from 和 to（YYYY-MM-DD）")))
    elif _dates_in_range([start, end], problems, path) and start > end:
        problems.append(Problem(path, N_("开始日期不能晚于结束日期")))


def _check_state(op, value, problems, path):
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(path, N_("请填写渠道 state")))
    elif len(value) > 64:
        problems.append(Problem(path, N_("渠道 state 最长 64 个字符")))
    elif "\x00" in value:
        problems.append(Problem(path, N_("渠道 state 不能含 NUL 字符")))


def _check_staff(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个员工"))


def _check_department(op, value, problems, path):
    if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
        problems.append(Problem(path, N_("请至少选择一个部门")))
    elif len(value) > MAX_VALUES or not all(0 <= v <= bounds.MAX_DB_ID for v in value):
        problems.append(Problem(path, N_("部门最多 %(max)s 个，且须是有效的部门 ID"), {"max": MAX_VALUES}))


def _check_group(op, value, problems, path):
    if op == "in_any":
        _strings(value, problems, path, N_("请至少选择一个客户群"))


def _check_activity(op, value, problems, path):
    _days(value, problems, path)


def _check_lost(op, value, problems, path):
    if not isinstance(value, bool):
        problems.append(Problem(path, N_("请选择“已流失”或“未流失”")))


@dataclass(frozen=True)
class FieldSpec:
    label: str
    operators: tuple[str, ...]
    check: Callable[[str, Any, list, str], None]


FIELDS: dict[str, FieldSpec] = {
    "tags": FieldSpec(N_("企业标签"), ("any", "all", "none"), _check_tags),
    "rfm_segment": FieldSpec(N_("RFM 分层"), ("in",), _check_segment),
    "rfm_class8": FieldSpec(N_("RFM 八类"), ("in",), _check_class8),
    "lifecycle_stage": FieldSpec(N_("生命周期阶段"), ("in",), _check_stage),
    "r_score": FieldSpec(N_("R 评分"), ("between",), _check_score),
    "f_score": FieldSpec(N_("F 评分"), ("between",), _check_score),
    "m_score": FieldSpec(N_("M 评分"), ("between",), _check_score),
    "order_count": FieldSpec(N_("订单数"), ("between",), _check_window_range),
    "order_amount": FieldSpec(N_("消费金额"), ("between",), _check_window_range),
    "category": FieldSpec(N_("购买类目"), ("any",), _check_category),
    "last_order": FieldSpec(N_("最近下单"), ("within", "not_within", "before", "never"), _check_last_order),
    "added": FieldSpec(N_("添加时间"), ("within", "between"), _check_added),
    "state": FieldSpec(N_("渠道 state"), ("equals", "starts_with"), _check_state),
    "staff": FieldSpec(N_("跟进员工"), ("in",), _check_staff),
    "department": FieldSpec(N_("员工部门"), ("in",), _check_department),
    "group": FieldSpec(N_("客户群"), ("in_any", "any", "none"), _check_group),
    "activity": FieldSpec(N_("最近活跃"), ("within", "not_within"), _check_activity),
    "lost": FieldSpec(N_("是否流失"), ("is",), _check_lost),
}


def problems_of(rule: Any) -> list[Problem]:
    """Every problem of the rule (empty when it is usable)."""
    problems: list[Problem] = []
    nodes = _walk(rule, "$", 0, problems, root=True)
    if nodes > MAX_NODES:
        problems.append(Problem("$", N_("条件过多（%(count)s 个），最多 %(max)s 个"), {"count": nodes, "max": MAX_NODES}))
    return problems


def validate(rule: Any) -> None:
    """Raise RuleError listing every problem, or return when the rule can be compiled."""
    if problems := problems_of(rule):
        raise RuleError(problems)


def _walk(node: Any, path: str, depth: int, problems: list[Problem], root: bool = False) -> int:
    if not isinstance(node, dict):
        problems.append(Problem(path, N_("应为条件组或条件（JSON 对象）")))
        return 1
    if "op" in node or "rules" in node:
        if node.get("op") not in ("and", "or"):
            problems.append(Problem(path, N_("条件组的 op 只能是 and（全部满足）或 or（满足任一）")))
        children = node.get("rules")
        if not isinstance(children, list):
            problems.append(Problem(path, N_("条件组需要 rules 列表")))
            return 1
        if not children and not root:
            problems.append(Problem(path, N_("条件组为空：请添加条件或删除该组")))
        if depth >= MAX_DEPTH:
            problems.append(Problem(path, N_("条件组嵌套过深（最多 %(max)s 层）"), {"max": MAX_DEPTH}))
            return 1
        return 1 + sum(_walk(child, f"{path}.rules[{i}]", depth + 1, problems)
                       for i, child in enumerate(children))
    spec = FIELDS.get(node.get("field"))
    if spec is None:
        problems.append(Problem(path, N_("未知的条件字段：%(field)r"), {"field": node.get("field")}))
    elif node.get("operator") not in spec.operators:
        problems.append(Problem(path, N_("「%(field)s」不支持运算 %(operator)r，可用：%(allowed)s"),
                                {"field": spec.label, "operator": node.get("operator"),
                                 "allowed": "、".join(spec.operators)}))
    else:
        spec.check(node["operator"], node.get("value"), problems, f"{path}.value")
    return 1
