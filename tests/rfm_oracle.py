"""A test oracle for RFM: the decided rules written the obvious way (exact fractions, one customer at a time).

Not product code: the product scores with app/rfm/fast_score.py; tests check it against this slow, plain reading
of the rules (design §5, RFM)."""
from __future__ import annotations

import bisect
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Iterable

from app.rfm.scoring import CustomerRfm
from app.rfm.segments import CLASSES, SEGMENTS


def percent_rank(values: list, descending: bool = False) -> list[int]:
    """Scores 1..5 by PERCENT_RANK: pr = (rank_min - 1) / (N - 1), score = min(5, 1 + floor(5 * pr))."""
    n = len(values)
    ordered = sorted(values)
    scores = []
    for value in values:
        before = n - bisect.bisect_right(ordered, value) if descending else bisect.bisect_left(ordered, value)
        pr = Fraction(before, n - 1) if n > 1 else Fraction(0)
        scores.append(min(5, 1 + int(5 * pr)))  # pr >= 0, so int() is floor
    return scores


def _segment(r: int, f: int) -> str:
    [key] = [key for key, _label, rs, fs in SEGMENTS if r in rs and f in fs]
    return key


def _class(recent: bool, frequent: bool, valuable: bool) -> str:
    [key] = [key for key, _label, *flags in CLASSES if flags == [recent, frequent, valuable]]
    return key


def rfm_of(orders: Iterable, as_of) -> list[CustomerRfm]:
    """RFM of every customer with a paid order (PaidOrder-like: external_userid, amount, paid_on) on or before
    `as_of`, sorted by external_userid."""
    last, count, total = {}, defaultdict(int), defaultdict(Decimal)
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
    r_scores, f_scores = percent_rank(recency, descending=True), percent_rank(frequency)
    m_scores = percent_rank(monetary)
    n = len(customers)
    sum_r, sum_f, sum_m = sum(recency), sum(frequency), sum(monetary, Decimal(0))
    return [CustomerRfm(who, recency[i], frequency[i], monetary[i], r_scores[i], f_scores[i], m_scores[i],
                        _segment(r_scores[i], f_scores[i]),
                        # strict comparisons with the population means, exactly: x < sum/n  <=>  x*n < sum
                        _class(recency[i] * n < sum_r, frequency[i] * n > sum_f, monetary[i] * n > sum_m))
            for i, who in enumerate(customers)]
