"""RFM of customers given as paid orders (the order file path of `scrm rfm-score`): totals, scored by fast_score."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

import numpy as np

from app.rfm.fast_score import CLASS_KEYS, SEGMENT_KEYS, score_arrays

_INT64_MAX = np.iinfo(np.int64).max


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


def score(orders: Iterable[PaidOrder], as_of: date) -> list[CustomerRfm]:
    """RFM of every customer with at least one paid order on or before `as_of`, sorted by external_userid.

    The caller passes paid orders only (refunded and cancelled ones excluded); later orders are ignored here.
    Amounts are whole fen (two decimals), summed exactly, past 64 bits too.
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
    fen = [int(total[c] * 100) for c in customers]
    scored = score_arrays(np.array([(as_of - last[c]).days for c in customers], dtype=np.int64),
                          np.array([count[c] for c in customers], dtype=np.int64),
                          np.array(fen, dtype=np.int64 if max(fen, default=0) <= _INT64_MAX else object))
    return [CustomerRfm(who, (as_of - last[who]).days, count[who], total[who], int(scored.r_score[i]),
                        int(scored.f_score[i]), int(scored.m_score[i]), str(SEGMENT_KEYS[scored.segment[i]]),
                        str(CLASS_KEYS[scored.class8[i]]))
            for i, who in enumerate(customers)]
