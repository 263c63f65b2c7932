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
- ``lifecycle_stage``: ``in`` a list of stage keys of app/lifecycle/labels.py (the current stage).
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

With ``Context.facts`` (PostgreSQL, facts up to date: app/segments/facts.py) the rule is evaluated on
``customer_facts`` instead: most conditions become predicates on the customer's one facts row
(app/segments/fact_rules.py), the others stay member sets. Both ways select the same customers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, exists, false, func, or_, select, true, union_all

from app.contacts.models import Customer, CustomerGroupMember, FollowRelation
from app.lifecycle.models import CustomerStage
from app.rfm.models import CustomerEvent, CustomerRfmScore, Order
from app.segments import fact_rules
from app.segments.models import CustomerFacts
from app.segments.rule_checks import (FIELDS, MAX_DAYS, MAX_DEPTH, MAX_NODES, Problem, RuleError, parse_date,
                                      problems_of, validate)
from app.segments.sql import array_has, prefix_of

__all__ = ["FIELDS", "MAX_DAYS", "MAX_DEPTH", "MAX_NODES", "Context", "Problem", "RuleError", "departments_in",
           "member_select", "problems_of", "validate", "where_clause"]


@dataclass(frozen=True)
class Context:
    """What a condition needs besides the rule: the moment, the corp timezone, department -> staff userids."""

    now: datetime
    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
    department_staff: dict[int, frozenset[str]] = field(default_factory=dict)
    facts: bool = False  # read customer_facts (PostgreSQL, up to date) instead of the source tables

    @property
    def key(self):
        """The customer's external_userid in the table the rule is evaluated on."""
        return CustomerFacts.external_userid if self.facts else Customer.external_userid

    def staff_in(self, departments) -> list[str]:
        """The userids of the staff of `departments` (sub-departments included, as the caller resolved them)."""
        return sorted(set().union(*(self.department_staff.get(d, frozenset()) for d in departments)))

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(timezone.utc)

    def since(self, days: int) -> datetime:
        """Start of the window of the last `days` corp-local days, today included."""
        return self.day_start(self.now.astimezone(self.tz).date() - timedelta(days=days - 1))


# A predicate on the customer's row, or a SELECT (or UNION) of the members' external_userid
Compiled = ColumnElement[bool] | Select | CompoundSelect


def _clause(compiled: Compiled, ctx: Context) -> ColumnElement[bool]:
    """A predicate on the customer's row: a member set becomes a semi-join (IN), a hash join on PostgreSQL."""
    return ctx.key.in_(compiled) if isinstance(compiled, (Select, CompoundSelect)) else compiled


def _members(compiled: Compiled, ctx: Context) -> list[Select]:
    """The SELECTs whose UNION is the member set (a nested UNION is flattened: SQLite refuses parentheses)."""
    if isinstance(compiled, CompoundSelect):
        return list(compiled.selects)
    return [compiled if isinstance(compiled, Select) else select(ctx.key).where(compiled)]


def _not_in(members: Select, ctx: Context) -> ColumnElement[bool]:
    """Not in the set, as NOT EXISTS: an anti-join on PostgreSQL. (NOT IN would probe a list row by row once the
    set outgrows work_mem, and cannot be turned into a join because of its NULL semantics.)"""
    found = members.subquery()
    return ~exists().where(list(found.c)[0] == ctx.key)


def _current_relations(*conds) -> Select:
    return select(FollowRelation.external_userid).where(FollowRelation.ended_at.is_(None), *conds)


def _paid_orders(*conds) -> Select:
    return select(Order.external_userid).where(Order.status == "paid", Order.external_userid.is_not(None), *conds)


def _tags(op, value, ctx):
    if op == "all":
        return and_(*(_clause(_current_relations(array_has(FollowRelation.tag_ids, t)), ctx) for t in value))
    has_any = _current_relations(or_(*(array_has(FollowRelation.tag_ids, t) for t in value)))
    return has_any if op == "any" else _not_in(has_any, ctx)


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
        return true() if high is None else _not_in(grouped.having(measure() > high), ctx)
    return compile_


def _category(op, value, ctx):
    return _paid_orders(Order.paid_at >= ctx.since(value["days"]), Order.category.in_(value["categories"]))


def _last_order(op, value, ctx):
    if op == "never":
        return _not_in(_paid_orders(), ctx)
    if op == "before":
        start = ctx.day_start(parse_date(value["date"]))
        return and_(_clause(_paid_orders(), ctx), _not_in(_paid_orders(Order.paid_at >= start), ctx))
    recent = _paid_orders(Order.paid_at >= ctx.since(value["days"]))
    return recent if op == "within" else _not_in(recent, ctx)


def _added(op, value, ctx):
    """The first relation (ended ones included) was added in the window: one added there and none earlier."""
    if op == "within":
        start, end = ctx.since(value["days"]), None
    else:
        start = ctx.day_start(parse_date(value["from"]))
        end = ctx.day_start(parse_date(value["to"]) + timedelta(days=1))
    in_window = [FollowRelation.added_at >= start] + ([FollowRelation.added_at < end] if end else [])
    relations = select(FollowRelation.external_userid)
    return and_(_clause(relations.where(*in_window), ctx),
                _not_in(relations.where(FollowRelation.added_at < start), ctx))


def _state(op, value, ctx):
    column = FollowRelation.state
    return _current_relations(column == value if op == "equals" else prefix_of(column, value))


def _staff(op, value, ctx):
    return _current_relations(FollowRelation.userid.in_(value))


def _department(op, value, ctx):
    userids = ctx.staff_in(value)
    return _current_relations(FollowRelation.userid.in_(userids)) if userids else false()


def _group(op, value, ctx):
    members = select(CustomerGroupMember.userid).where(CustomerGroupMember.left_at.is_(None))
    if op == "in_any":
        return members.where(CustomerGroupMember.chat_id.in_(value))
    return members if op == "any" else _not_in(members, ctx)


def _activity(op, value, ctx):
    recent = select(CustomerEvent.external_userid).where(CustomerEvent.occurred_at >= ctx.since(value["days"]))
    return recent if op == "within" else _not_in(recent, ctx)


def _lost(op, value, ctx):
    return Customer.lost_at.is_not(None) if value else Customer.lost_at.is_(None)


COMPILERS: dict[str, Callable[[str, Any, Context], Compiled]] = {
    "tags": _tags,
    "rfm_segment": _rfm_column(CustomerRfmScore.segment),
    "rfm_class8": _rfm_column(CustomerRfmScore.class8),
    "lifecycle_stage": lambda op, value, ctx: select(CustomerStage.external_userid).where(
        CustomerStage.stage.in_(value)),
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
        compiler = (ctx.facts and fact_rules.COMPILERS.get(rule["field"])) or COMPILERS[rule["field"]]
        return compiler(rule["operator"], rule.get("value"), ctx)
    parts = [_compile(child, ctx) for child in rule["rules"]]
    if len(parts) == 1:
        return parts[0]
    if rule["op"] == "and":
        return and_(true(), *(_clause(p, ctx) for p in parts))
    if ctx.facts:  # one row per customer: a plain OR, member sets as hashed subplans
        return or_(*(_clause(p, ctx) for p in parts))
    # OR as a UNION ALL of the member sets (duplicates do not matter to IN): one semi-join for the group, where an
    # OR of subqueries would be evaluated row by row on PostgreSQL once a set outgrows work_mem
    return union_all(*(s for p in parts for s in _members(p, ctx))) if parts else false()


def where_clause(rule: dict, ctx: Context) -> ColumnElement[bool]:
    """The rule as a boolean expression over `customers`, or `customer_facts` when `ctx.facts` (validate first:
    this trusts the rule's shape)."""
    return true() if rule.get("rules") == [] and rule.get("op") == "and" else _clause(_compile(rule, ctx), ctx)


def member_select(rule: dict, ctx: Context) -> Select:
    """SELECT customer_id (customers.id) of the rule's members; validates the rule first."""
    validate(rule)
    customer_id = CustomerFacts.customer_id if ctx.facts else Customer.id
    return select(customer_id.label("customer_id")).where(where_clause(rule, ctx))


def departments_in(rule: Any) -> set[int]:
    """The department ids a (valid) rule names, for the caller to resolve into Context.department_staff."""
    if not isinstance(rule, dict):
        return set()
    if "rules" in rule:
        return set().union(*(departments_in(child) for child in rule["rules"] or []))
    value = rule.get("value")
    return {v for v in value if isinstance(v, int)} if rule.get("field") == "department" and isinstance(value, list) \
        else set()
