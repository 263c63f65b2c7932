"""Segment conditions read from customer_facts (PostgreSQL): a predicate on the customer's facts row per field.

The fields not listed here (RFM, category) are read from their own tables in both ways of compiling
(app/segments/rules.py). Every predicate gives exactly what its source-table twin gives: a window
"since" is a corp-local midnight, a whole second, so whole seconds of the paid times compare the same way.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import BigInteger, ColumnElement, and_, false, func, literal, or_, true
from sqlalchemy.dialects.postgresql import array

from app.segments.models import STATE_SEP, CustomerFacts as F, encode_state
from app.segments.rule_checks import parse_date
from app.segments.sql import escape_like


def _seconds(moment) -> ColumnElement[int]:
    return literal(int(moment.timestamp()), BigInteger)


def _tags(op, value, ctx):
    wanted = array(value)
    if op == "all":
        return F.tag_ids.contains(wanted)
    return F.tag_ids.overlap(wanted) if op == "any" else or_(F.tag_ids.is_(None), ~F.tag_ids.overlap(wanted))


def _window_total(measure: str, days: int, ctx) -> ColumnElement[int]:
    """Paid orders (or their amount) since the window's start: the orders before it are found by binary search."""
    paid = func.cardinality(F.paid_times)
    before = func.width_bucket(_seconds(ctx.since(days)) - 1, F.paid_times)
    return paid - before if measure == "count" else F.paid_cum_fen[paid + 1] - F.paid_cum_fen[before + 1]


def _window(measure: str):
    def compile_(op, value, ctx):
        total = _window_total(measure, value["days"], ctx)
        low, high = value.get("min"), value.get("max")
        if low:  # no paid order at all: NULL, never selected
            return total.between(low, high) if high is not None else total >= low
        return true() if high is None else func.coalesce(total, 0) <= high
    return compile_


def _last_order(op, value, ctx):
    last = F.paid_times[func.cardinality(F.paid_times)]
    if op == "never":
        return F.paid_times.is_(None)
    if op == "before":
        return last < _seconds(ctx.day_start(parse_date(value["date"])))
    recent = last >= _seconds(ctx.since(value["days"]))
    return recent if op == "within" else or_(F.paid_times.is_(None), ~recent)


def _added(op, value, ctx):
    if op == "within":
        return F.first_added_at >= ctx.since(value["days"])
    start = ctx.day_start(parse_date(value["from"]))
    end = ctx.day_start(parse_date(value["to"]) + timedelta(days=1))
    return and_(F.first_added_at >= start, F.first_added_at < end)


def _state(op, value, ctx):
    """A current relation's state equals or starts with `value`: a LIKE on the separated states, which a trigram
    index serves. States and value are encoded alike (encode_state), so the separator never occurs inside one."""
    ending = STATE_SEP if op == "equals" else ""
    return F.states.like(f"%{STATE_SEP}{escape_like(encode_state(value))}{ending}%")


def _staff(op, value, ctx):
    return F.staff.overlap(array(value))


def _department(op, value, ctx):
    userids = ctx.staff_in(value)
    return F.staff.overlap(array(userids)) if userids else false()


def _group(op, value, ctx):
    if op == "in_any":
        return F.chat_ids.overlap(array(value))
    return F.chat_ids.is_not(None) if op == "any" else F.chat_ids.is_(None)


def _activity(op, value, ctx):
    recent = F.last_activity_at >= ctx.since(value["days"])
    return recent if op == "within" else or_(F.last_activity_at.is_(None), ~recent)


def _lost(op, value, ctx):
    return F.lost if value else ~F.lost


COMPILERS: dict[str, Callable[[str, Any, Any], ColumnElement[bool]]] = {
    "tags": _tags,
    "order_count": _window("count"),
    "order_amount": _window("amount"),
    "last_order": _last_order,
    "added": _added,
    "state": _state,
    "staff": _staff,
    "department": _department,
    "group": _group,
    "activity": _activity,
    "lost": _lost,
}
