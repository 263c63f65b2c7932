"""What the RFM page shows: the R x F grid, segments, classes, movements since the last run, and customer lists.

Every figure and list is limited to the account's scope (app.contacts.scope): a supervisor counts and sees the
customers of the departments they lead only."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from app.contacts.models import Customer
from app.contacts.scope import Scope
from app.extensions import db
from app.rfm.models import CustomerRfmScore as S
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS

FILTERS = ("segment", "class8", "r", "f", "from", "mark_state")
MARK_STATES = ("pending", "failed", "no_staff")
SCORES = ("1", "2", "3", "4", "5")  # ?r= and ?f=: anything else matches no customer


@dataclass(frozen=True)
class Group:
    key: str
    customers: int
    revenue_fen: int
    orders: int

    @property
    def average_order_fen(self) -> int:
        return round(self.revenue_fen / self.orders) if self.orders else 0


def _grouped(column, scope: Scope) -> dict[str, Group]:
    rows = db.session.execute(select(column, func.count(), func.coalesce(func.sum(S.monetary_fen), 0),
                                     func.coalesce(func.sum(S.frequency), 0))
                              .where(S.segment.is_not(None), scope.customer_filter(S.external_userid)).group_by(column))
    return {key: Group(key, n, int(revenue), int(orders)) for key, n, revenue, orders in rows}


def segments(scope: Scope) -> list[Group]:
    found = _grouped(S.segment, scope)
    return [found.get(key, Group(key, 0, 0, 0)) for key in SEGMENT_LABELS]


def classes(scope: Scope) -> list[Group]:
    found = _grouped(S.class8, scope)
    return [found.get(key, Group(key, 0, 0, 0)) for key in CLASS_LABELS]


def grid(scope: Scope) -> dict[tuple[int, int], Group]:
    """(R, F) -> customers and revenue, for all 25 cells."""
    rows = db.session.execute(select(S.r_score, S.f_score, func.count(), func.coalesce(func.sum(S.monetary_fen), 0),
                                     func.coalesce(func.sum(S.frequency), 0))
                              .where(S.segment.is_not(None), scope.customer_filter(S.external_userid))
                              .group_by(S.r_score, S.f_score))
    cells = {(r, f): Group(f"{r}{f}", n, int(rev), int(orders)) for r, f, n, rev, orders in rows}
    return {(r, f): cells.get((r, f), Group(f"{r}{f}", 0, 0, 0)) for r in range(1, 6) for f in range(1, 6)}


def movements(scope: Scope, limit: int = 10) -> list[tuple[str, str, int]]:
    """(from segment, to segment, customers) since the previous run, biggest first."""
    count = func.count().label("n")
    rows = db.session.execute(select(S.previous_segment, S.segment, count)
                              .where(S.previous_segment.is_not(None), S.segment.is_not(None),
                                     S.previous_segment != S.segment, scope.customer_filter(S.external_userid))
                              .group_by(S.previous_segment, S.segment)
                              .order_by(count.desc(), S.previous_segment, S.segment).limit(limit))
    return [(a, b, n) for a, b, n in rows]


def mark_backlog(scope: Scope) -> dict[str, int]:
    """Customers whose WeCom tags are not right yet, by state."""
    rows = db.session.execute(select(S.mark_state, func.count()).where(S.mark_state.in_(MARK_STATES),
                                                                      scope.customer_filter(S.external_userid))
                              .group_by(S.mark_state))
    return {state: n for state, n in rows}


def scored_customers(scope: Scope) -> int:
    return db.session.scalar(select(func.count()).where(S.segment.is_not(None),
                                                        scope.customer_filter(S.external_userid))) or 0


def customer_query(args: dict[str, str], scope: Scope) -> Select:
    """Score rows matching the page's filters, biggest spenders first; unknown values match nothing."""
    query = select(S).where(scope.customer_filter(S.external_userid)).order_by(S.monetary_fen.desc(), S.external_userid)
    if args.get("mark_state"):
        query = query.where(S.mark_state == args["mark_state"])
    else:
        query = query.where(S.segment.is_not(None))
    for name, column in (("segment", S.segment), ("class8", S.class8), ("from", S.previous_segment)):
        if args.get(name):
            query = query.where(column == args[name])
    for name, column in (("r", S.r_score), ("f", S.f_score)):
        if args.get(name):
            query = query.where(column == (int(args[name]) if args[name] in SCORES else -1))
    return query


def names(external_userids: list[str]) -> dict[str, str]:
    """The customers' names as synced from WeCom (orders may name customers not synced yet)."""
    rows = db.session.execute(select(Customer.external_userid, Customer.name)
                              .where(Customer.external_userid.in_(external_userids)))
    return {ext: name for ext, name in rows}
