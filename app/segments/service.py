"""Segment use cases: members, counts and samples of a rule; saved segments created, changed and deleted (audited).

Other capabilities (pushes, tags) call `member_ids(rule)`: a SELECT of one column `customer_id`, usable as a
subquery, e.g. ``insert(Audience).from_select(["customer_id"], member_ids(rule))``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text

from app.contacts.models import Customer
from app.contacts.scope import staff_in_departments, with_sub_departments
from app.core import audit, settings
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.segments import facts, rules
from app.segments.models import Segment
from app.segments.rules import Problem, RuleError

__all__ = ["Problem", "RuleError", "Segment", "context", "count", "create_segment", "delete_segment",
           "get_segment", "member_ids", "recount", "sample", "tune_session", "update_segment", "validate"]

MAX_NAME = 64


def validate(rule: Any) -> None:
    """Raise RuleError (with `.problems`) unless the rule can be used."""
    rules.validate(rule)


def context(rule: Any, now: datetime | None = None) -> rules.Context:
    """The moment, the corp timezone, the staff of every department the rule names (sub-departments included),
    and whether the customers' facts can be read (brought up to date first)."""
    departments = {d: frozenset(staff_in_departments(with_sub_departments({d}))) for d in rules.departments_in(rule)}
    return rules.Context(now=now or utcnow(), tz=settings.corp_timezone(), department_staff=departments,
                         facts=facts.up_to_date())


def member_ids(rule: dict, *, now: datetime | None = None) -> Select:
    """SELECT customer_id (customers.id) of the rule's members; raises RuleError for a bad rule."""
    validate(rule)
    return rules.member_select(rule, context(rule, now))


def tune_session() -> None:
    """On PostgreSQL, for the rest of the current transaction: memory for the hash joins and aggregates a segment
    needs (4 MB would spill a million customers to disk), no JIT (compiling took 0.3-0.5 s of a 1 s count) and no
    parallel workers (each worker rebuilt the whole order aggregate under a parallel hash join: 3 times the work,
    measured in scripts/bench/segment_count.py). Callers that run `member_ids` themselves on a large database may
    call it first."""
    if db.session.get_bind().dialect.name == "postgresql":
        for setting in ("work_mem = '64MB'", "jit = off", "max_parallel_workers_per_gather = 0"):
            db.session.execute(text(f"SET LOCAL {setting}"))


def count(rule: dict, *, now: datetime | None = None) -> int:
    query = select(func.count()).select_from(member_ids(rule, now=now).subquery())
    tune_session()
    return db.session.scalar(query)


def sample(rule: dict, limit: int = 20, *, now: datetime | None = None, offset: int = 0) -> list[Customer]:
    """Up to `limit` members after the first `offset`, newest customers first."""
    ids = member_ids(rule, now=now).subquery()
    tune_session()
    return list(db.session.scalars(select(Customer).join(ids, ids.c.customer_id == Customer.id)
                                   .order_by(Customer.id.desc()).offset(offset).limit(limit)))


def member_page(rule: dict, after_id: int = 0, limit: int = 100) -> list[Customer]:
    """Members with id greater than `after_id`, by id: a stable keyset page."""
    ids = member_ids(rule).subquery()
    tune_session()
    return list(db.session.scalars(select(Customer).join(ids, ids.c.customer_id == Customer.id)
                                   .where(Customer.id > after_id).order_by(Customer.id).limit(limit)))


def get_segment(segment_id: int) -> Segment | None:
    return db.session.get(Segment, segment_id)


def list_segments() -> list[Segment]:
    return list(db.session.scalars(select(Segment).order_by(Segment.updated_at.desc(), Segment.id.desc())))


def _check(name: str, rule: Any, segment_id: int | None = None) -> list[Problem]:
    problems = rules.problems_of(rule)
    name = name.strip()
    if not name:
        problems.insert(0, Problem("name", N_("请填写人群名称")))
    elif len(name) > MAX_NAME:
        problems.insert(0, Problem("name", N_("人群名称最长 %(max)s 个字符"), {"max": MAX_NAME}))
    elif db.session.scalar(select(Segment.id).where(Segment.name == name, Segment.id != (segment_id or 0))):
        problems.insert(0, Problem("name", N_("已有名为「%(name)s」的人群"), {"name": name}))
    return problems


def _counted(segment: Segment) -> None:
    segment.last_count = count(segment.rule)
    segment.last_counted_at = utcnow()


def create_segment(name: str, description: str, rule: dict, actor: str, *, count_now: bool = True) -> Segment:
    """Save a new segment (with its current count unless `count_now` is false); RuleError when the name or rule
    is bad, and then nothing is saved."""
    if problems := _check(name, rule):
        raise RuleError(problems)
    with transaction():
        segment = Segment(name=name.strip(), description=description.strip(), rule=rule, created_by=actor)
        db.session.add(segment)
        if count_now:
            _counted(segment)
        db.session.flush()
        audit.record("segments.create", target=f"segment:{segment.id}",
                     details={"name": segment.name, "count": segment.last_count})
    return segment


def update_segment(segment: Segment, name: str, description: str, rule: dict) -> Segment:
    if problems := _check(name, rule, segment.id):
        raise RuleError(problems)
    with transaction():
        renamed = segment.name != name.strip()
        details = {"name": name.strip(), **({"old_name": segment.name} if renamed else {}),
                   "rule_changed": segment.rule != rule}
        segment.name, segment.description, segment.rule = name.strip(), description.strip(), rule
        segment.updated_at = utcnow()
        _counted(segment)
        audit.record("segments.update", target=f"segment:{segment.id}", details={**details, "count": segment.last_count})
    return segment


def recount(segment: Segment) -> int:
    """Count the segment now and remember it."""
    with transaction():
        _counted(segment)
    return segment.last_count


def delete_segment(segment: Segment) -> None:
    with transaction():
        audit.record("segments.delete", target=f"segment:{segment.id}", details={"name": segment.name})
        db.session.delete(segment)
