"""RFM scoring by the decided rules: pure computation on paid orders, deterministic on any database."""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Iterable

from app.rfm.segments import class_for, segment_for


@dataclass(frozen=True)
class PaidOrder:
    """One paid order: who, how much (yuan, Decimal) and the corp-local date it was paid."""

    order_id: str
    external_userid: str
    amount: Decimal
    paid_on: date


@dataclass(frozen=True)
class CustomerRfm:
    external_userid: str
    recency_days: int
    frequency: int
    monetary: Decimal
    r_score: int
    f_score: int
    m_score: int
    segment: str
    class8: str


def _scores(values: list, descending: bool = False) -> list[int]:
    """Scores 1..5 by PERCENT_RANK: pr = (rank_min - 1) / (N - 1), score = min(5, 1 + floor(5 * pr))."""
    n = len(values)
    ordered = sorted(values)
    scores = []
    for value in values:
        before = n - bisect.bisect_right(ordered, value) if descending else bisect.bisect_left(ordered, value)
        pr = Fraction(before, n - 1) if n > 1 else Fraction(0)
        scores.append(min(5, 1 + int(5 * pr)))  # pr >= 0, so int() is floor
    return scores


def score(orders: Iterable[PaidOrder], as_of: date) -> list[CustomerRfm]:
    """RFM of every customer with at least one paid order on or before `as_of`, sorted by external_userid.

    The caller passes paid orders only (refunded and cancelled ones excluded); later orders are ignored here.
    """
    last: dict[str, date] = {}
    count: dict[str, int] = defaultdict(int)
    total: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        if order.paid_on > as_of:
            continue
        who = order.external_userid
        if who not in last or order.paid_on > last[who]:
            last[who] = order.paid_on
        count[who] += 1
        total[who] += order.amount
    customers = sorted(last)
    recency = [(as_of - last[c]).days for c in customers]
    frequency = [count[c] for c in customers]
    monetary = [total[c] for c in customers]
    r_scores = _scores(recency, descending=True)
    f_scores = _scores(frequency)
    m_scores = _scores(monetary)
    n = len(customers)
    sum_r, sum_f, sum_m = sum(recency), sum(frequency), sum(monetary, Decimal(0))
    result = []
    for i, who in enumerate(customers):
        # Strict comparisons with the population means, done exactly: x < sum/n  <=>  x*n < sum.
        klass = class_for(recency[i] * n < sum_r, frequency[i] * n > sum_f, monetary[i] * n > sum_m)
        result.append(CustomerRfm(who, recency[i], frequency[i], monetary[i], r_scores[i], f_scores[i],
                                  m_scores[i], segment_for(r_scores[i], f_scores[i]), klass))
    return result
