"""Segment rules: a JSON rule tree, validated with specific Chinese errors and compiled to a WHERE on customers.

A rule is a group or a condition. A group is ``{"op": "and" | "or", "rules": [...]}`` (nested to any depth;
an empty root group matches every customer, an empty nested group is an error). A condition is
``{"field": KEY, "operator": OP, "value": ...}``::

    {"op": "and", "rules": [
        {"field": "tags", "operator": "any", "value": ["etVIP", "etGold"]},
        {"field": "rfm_segment", "operator": "in", "value": ["champions", "loyal"]},
        {"op": "or", "rules": [
            {"field": "order_amount", "operator": "between", "value": {"days": 90, "min": 100000}},
            {"field": "state", "operator": "starts_with", "value": "ref-"}]}]}

Fields, operators and values (days: 1..3650, dates "YYYY-MM-DD" in the corp timezone):

- ``tags``: ``any`` / ``all`` / ``none`` of corp tag ids (a list), on the customer's current relations.
- ``rfm_segment`` / ``rfm_class8``: ``in`` a list of keys of app/rfm/segments.py.
- ``r_score`` / ``f_score`` / ``m_score``: ``between`` ``{"min": 1..5, "max": 1..5}`` (both inclusive).
- ``order_count`` / ``order_amount`` (fen): ``between`` ``{"days": N, "min": a, "max": b}``, at least one bound;
  counts and sums paid orders in the window (a customer without any counts 0).
- ``category``: ``any`` ``{"days": N, "categories": [..]}``: a paid order of one of them in the window.
- ``last_order``: ``within`` / ``not_within`` ``{"days": N}``, ``before`` ``{"date": D}`` (has paid orders, the last
  one before that day), ``never`` (no paid order at all; value ignored).
- ``added``: the first relation's added_at, ``within`` ``{"days": N}`` or ``between`` ``{"from": D, "to": D}``.
- ``state``: ``equals`` / ``starts_with`` a channel state (a string), on current relations.
- ``staff``: ``in`` staff userids; ``department``: ``in`` department ids (sub-departments included, resolved by the
  caller into ``Context.department_staff``): a current relation with such a staff member.
- ``group``: ``in_any`` chat ids (a list), ``any`` (in some customer group), ``none`` (in no group); members who
  have not left.
- ``activity``: ``within`` / ``not_within`` ``{"days": N}``: an activity event in the window.
- ``lost``: ``is`` true (lost_at set) / false.

"Within N days" means since the start of the corp-local day N-1 days before today (today is day 1), with
"now" and the timezone taken from the `Context`, so that results are deterministic. Every condition compiles to
``customers.external_userid [NOT] IN (SELECT external_userid ...)`` (a semi-join under AND, a hashed subplan under
OR on PostgreSQL), or to a predicate on customers itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, exists, false, func, or_, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean

from app.contacts.models import Customer, CustomerGroupMember, FollowRelation
from app.rfm.models import CustomerEvent, CustomerRfmScore, Order
from app.core.permissions import N_
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS

MAX_DEPTH = 8
MAX_NODES = 200
MAX_DAYS = 3650


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


@dataclass(frozen=True)
class Context:
    """What a condition needs besides the rule: the moment, the corp timezone, department -> staff userids."""

    now: datetime
    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
    department_staff: dict[int, frozenset[str]] = field(default_factory=dict)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(timezone.utc)

    def since(self, days: int) -> datetime:
        """Start of the window of the last `days` corp-local days, today included."""
        return self.day_start(self.now.astimezone(self.tz).date() - timedelta(days=days - 1))


# ---- validation -------------------------------------------------------------------------------------------

def _days(value, problems, path) -> None:
    if not isinstance(value, dict) or not _is_int(value.get("days")) or not 1 <= value["days"] <= MAX_DAYS:
        problems.append(Problem(path, N_("需要天数 days（1 到 %(max)s 的整数）"), {"max": MAX_DAYS}))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_date(text) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


def _strings(value, problems, path, empty: str, allowed: dict | None = None, unknown_msgid: str = "") -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(path, empty))
    elif allowed is not None and (unknown := [v for v in value if v not in allowed]):
        problems.append(Problem(path, unknown_msgid, {"keys": "、".join(unknown)}))


def _check_tags(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个标签"))


def _check_segment(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个 RFM 分层"), SEGMENT_LABELS, N_("未知的 RFM 分层：%(keys)s"))


def _check_class8(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个 RFM 八类"), CLASS_LABELS, N_("未知的 RFM 八类：%(keys)s"))


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
    bounds = [value.get(k) for k in ("min", "max")]
    if all(b is None for b in bounds):
        problems.append(Problem(path, N_("请填写下限或上限（至少一个）")))
    elif not all(b is None or (_is_int(b) and b >= 0) for b in bounds):
        problems.append(Problem(path, N_("下限和上限需为不小于 0 的整数（金额以分计）")))
    elif None not in bounds and bounds[0] > bounds[1]:
        problems.append(Problem(path, N_("下限不能大于上限")))


def _check_category(op, value, problems, path):
    _days(value, problems, path)
    _strings(value.get("categories") if isinstance(value, dict) else None, problems, path,
             N_("请至少选择一个商品类目"))


def _check_last_order(op, value, problems, path):
    if op in ("within", "not_within"):
        _days(value, problems, path)
    elif op == "before" and not (isinstance(value, dict) and _parse_date(value.get("date"))):
        problems.append(Problem(path, N_("需要日期 date（YYYY-MM-DD）")))


def _check_added(op, value, problems, path):
    if op == "within":
        _days(value, problems, path)
        return
    start, end = (_parse_date(value.get(k)) if isinstance(value, dict) else None for k in ("from", "to"))
    if start is None or end is None:
        problems.append(Problem(path, N_("需要起止日期 from 和 to（YYYY-MM-DD）")))
    elif start > end:
        problems.append(Problem(path, N_("开始日期不能晚于结束日期")))


def _check_state(op, value, problems, path):
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(path, N_("请填写渠道 state")))
    elif len(value) > 64:
        problems.append(Problem(path, N_("渠道 state 最长 64 个字符")))


def _check_staff(op, value, problems, path):
    _strings(value, problems, path, N_("请至少选择一个员工"))


def _check_department(op, value, problems, path):
    if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
        problems.append(Problem(path, N_("请至少选择一个部门")))


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


# ---- compilation ------------------------------------------------------------------------------------------

class json_array_has(FunctionElement):
    """A JSON array column holds a string: JSONB containment on PostgreSQL (GIN-indexed), instr elsewhere.

    Arguments: the column, the JSON text of the string ('"et1"', a substring of '["et1", "et2"]' as SQLAlchemy
    stores it) and the JSON text of a one-element array ('["et1"]', for @>).
    """

    type = Boolean()
    inherit_cache = True
    name = "json_array_has"


@compiles(json_array_has)
def _json_array_has_default(element, compiler, **kw):
    column, needle, _array = list(element.clauses)
    return f"(instr({compiler.process(column, **kw)}, {compiler.process(needle, **kw)}) > 0)"


@compiles(json_array_has, "postgresql")
def _json_array_has_pg(element, compiler, **kw):
    column, _needle, array = list(element.clauses)
    return f"(CAST({compiler.process(column, **kw)} AS JSONB) @> CAST({compiler.process(array, **kw)} AS JSONB))"


class starts_with(FunctionElement):
    """The column starts with the prefix, case-sensitively everywhere: LIKE 'prefix%' on PostgreSQL (an index with
    varchar_pattern_ops serves it), substr() elsewhere (SQLite's LIKE ignores case).

    Arguments: the column, the prefix, and the LIKE pattern (the prefix with % _ and \\ escaped, then %).
    """

    type = Boolean()
    inherit_cache = True
    name = "starts_with"


@compiles(starts_with)
def _starts_with_default(element, compiler, **kw):
    column, prefix, _pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"(substr({column}, 1, length({prefix})) = {prefix})"


@compiles(starts_with, "postgresql")
def _starts_with_pg(element, compiler, **kw):
    column, _prefix, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} LIKE {pattern})"


def _prefix_of(column, prefix: str) -> ColumnElement[bool]:
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return starts_with(column, prefix, pattern)


def _has_tag(tag_id: str) -> ColumnElement[bool]:
    return json_array_has(FollowRelation.tag_ids, json.dumps(tag_id), json.dumps([tag_id]))


KEY = Customer.external_userid
# A predicate on customers, or a SELECT (or UNION) of the members' external_userid
Compiled = ColumnElement[bool] | Select | CompoundSelect


def _clause(compiled: Compiled) -> ColumnElement[bool]:
    """A predicate on customers: a member set becomes a semi-join (IN), which PostgreSQL runs as a hash join."""
    return KEY.in_(compiled) if isinstance(compiled, (Select, CompoundSelect)) else compiled


def _members(compiled: Compiled) -> list[Select]:
    """The SELECTs whose UNION is the member set (a nested UNION is flattened: SQLite refuses parentheses)."""
    if isinstance(compiled, CompoundSelect):
        return list(compiled.selects)
    return [compiled if isinstance(compiled, Select) else select(KEY).where(compiled)]


def _not_in(members: Select) -> ColumnElement[bool]:
    """Not in the set, as NOT EXISTS: an anti-join on PostgreSQL. (NOT IN would probe a list row by row once the
    set outgrows work_mem, and cannot be turned into a join because of its NULL semantics.)"""
    found = members.subquery()
    return ~exists().where(list(found.c)[0] == KEY)


def _current_relations(*conds) -> Select:
    return select(FollowRelation.external_userid).where(FollowRelation.ended_at.is_(None), *conds)


def _paid_orders(*conds) -> Select:
    return select(Order.external_userid).where(Order.status == "paid", Order.external_userid.is_not(None), *conds)


def _tags(op, value, ctx):
    if op == "all":
        return and_(*(_clause(_current_relations(_has_tag(t))) for t in value))
    has_any = _current_relations(or_(*(_has_tag(t) for t in value)))
    return has_any if op == "any" else _not_in(has_any)


def _rfm_column(column):
    return lambda op, value, ctx: select(CustomerRfmScore.external_userid).where(column.in_(value))


def _score(column):
    return lambda op, value, ctx: select(CustomerRfmScore.external_userid).where(
        column.between(value["min"], value["max"]))


def _window_aggregate(measure):
    def compile_(op, value, ctx):
        low, high = value.get("min"), value.get("max")
        grouped = _paid_orders(Order.paid_at >= ctx.since(value["days"])).group_by(Order.external_userid)
        if low:  # at least one order: those with a qualifying total
            return grouped.having(and_(measure() >= low, *([measure() <= high] if high is not None else [])))
        # zero included: everyone except those above the upper bound (when there is one)
        return true() if high is None else _not_in(grouped.having(measure() > high))
    return compile_


def _category(op, value, ctx):
    return _paid_orders(Order.paid_at >= ctx.since(value["days"]), Order.category.in_(value["categories"]))


def _last_order(op, value, ctx):
    if op == "never":
        return _not_in(_paid_orders())
    if op == "before":
        start = ctx.day_start(_parse_date(value["date"]))
        return and_(_clause(_paid_orders()), _not_in(_paid_orders(Order.paid_at >= start)))
    recent = _paid_orders(Order.paid_at >= ctx.since(value["days"]))
    return recent if op == "within" else _not_in(recent)


def _added(op, value, ctx):
    """The first relation (ended ones included) was added in the window: one added there and none earlier."""
    if op == "within":
        start, end = ctx.since(value["days"]), None
    else:
        start = ctx.day_start(_parse_date(value["from"]))
        end = ctx.day_start(_parse_date(value["to"]) + timedelta(days=1))
    in_window = [FollowRelation.added_at >= start] + ([FollowRelation.added_at < end] if end else [])
    relations = select(FollowRelation.external_userid)
    return and_(_clause(relations.where(*in_window)), _not_in(relations.where(FollowRelation.added_at < start)))


def _state(op, value, ctx):
    column = FollowRelation.state
    return _current_relations(column == value if op == "equals" else _prefix_of(column, value))


def _staff(op, value, ctx):
    return _current_relations(FollowRelation.userid.in_(value))


def _department(op, value, ctx):
    userids = sorted(set().union(*(ctx.department_staff.get(d, frozenset()) for d in value)))
    return _current_relations(FollowRelation.userid.in_(userids)) if userids else false()


def _group(op, value, ctx):
    members = select(CustomerGroupMember.userid).where(CustomerGroupMember.left_at.is_(None))
    if op == "in_any":
        return members.where(CustomerGroupMember.chat_id.in_(value))
    return members if op == "any" else _not_in(members)


def _activity(op, value, ctx):
    recent = select(CustomerEvent.external_userid).where(CustomerEvent.occurred_at >= ctx.since(value["days"]))
    return recent if op == "within" else _not_in(recent)


def _lost(op, value, ctx):
    return Customer.lost_at.is_not(None) if value else Customer.lost_at.is_(None)


COMPILERS: dict[str, Callable[[str, Any, Context], Compiled]] = {
    "tags": _tags,
    "rfm_segment": _rfm_column(CustomerRfmScore.segment),
    "rfm_class8": _rfm_column(CustomerRfmScore.class8),
    "r_score": _score(CustomerRfmScore.r_score),
    "f_score": _score(CustomerRfmScore.f_score),
    "m_score": _score(CustomerRfmScore.m_score),
    "order_count": _window_aggregate(lambda: func.count(Order.id)),
    "order_amount": _window_aggregate(lambda: func.sum(Order.amount_fen)),
    "category": _category,
    "last_order": _last_order,
    "added": _added,
    "state": _state,
    "staff": _staff,
    "department": _department,
    "group": _group,
    "activity": _activity,
    "lost": _lost,
}


def _compile(rule: dict, ctx: Context) -> Compiled:
    if "op" not in rule:
        return COMPILERS[rule["field"]](rule["operator"], rule.get("value"), ctx)
    parts = [_compile(child, ctx) for child in rule["rules"]]
    if len(parts) == 1:
        return parts[0]
    if rule["op"] == "and":
        return and_(true(), *(_clause(p) for p in parts))
    # OR as a UNION ALL of the member sets (duplicates do not matter to IN): one semi-join for the group, where an
    # OR of subqueries would be evaluated row by row on PostgreSQL once a set outgrows work_mem
    return union_all(*(s for p in parts for s in _members(p))) if parts else false()


def where_clause(rule: dict, ctx: Context) -> ColumnElement[bool]:
    """The rule as a boolean expression over `customers` (validate first: this trusts the rule's shape)."""
    return true() if rule.get("rules") == [] and rule.get("op") == "and" else _clause(_compile(rule, ctx))


def member_select(rule: dict, ctx: Context) -> Select:
    """SELECT customers.id AS customer_id of the rule's members; validates the rule first."""
    validate(rule)
    return select(Customer.id.label("customer_id")).where(where_clause(rule, ctx))


def departments_in(rule: Any) -> set[int]:
    """The department ids a (valid) rule names, for the caller to resolve into Context.department_staff."""
    if not isinstance(rule, dict):
        return set()
    if "rules" in rule:
        return set().union(*(departments_in(child) for child in rule["rules"] or []))
    value = rule.get("value")
    return {v for v in value if isinstance(v, int)} if rule.get("field") == "department" and isinstance(value, list) \
        else set()
