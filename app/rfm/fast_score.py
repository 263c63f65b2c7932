"""RFM scores, segments and classes for whole arrays of customers (numpy): the one scorer of the decided rules."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.rfm.segments import CLASSES, SEGMENTS

SEGMENT_KEYS = np.array([key for key, *_ in SEGMENTS], dtype=object)
CLASS_KEYS = np.array([key for key, *_ in CLASSES], dtype=object)
_GRID = np.full((6, 6), -1, dtype=np.int8)  # [r, f] -> index into SEGMENT_KEYS
for _index, (_key, _label, _r_range, _f_range) in enumerate(SEGMENTS):
    for _r in _r_range:
        _GRID[_r, list(_f_range)] = _index
_CLASS_INDEX = np.zeros(8, dtype=np.int8)  # recent*4 + frequent*2 + valuable -> index into CLASS_KEYS
for _index, (_key, _label, _recent, _frequent, _valuable) in enumerate(CLASSES):
    _CLASS_INDEX[_recent * 4 + _frequent * 2 + _valuable] = _index


@dataclass(frozen=True)
class ScoredArrays:
    """Per customer, in the order given: the three scores and indexes into SEGMENT_KEYS / CLASS_KEYS."""

    r_score: np.ndarray
    f_score: np.ndarray
    m_score: np.ndarray
    segment: np.ndarray
    class8: np.ndarray


def percent_rank_scores(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """Scores 1..5 by PERCENT_RANK in integers: min(5, 1 + (5 * (rank_min - 1)) // (N - 1)), 1 when N = 1."""
    n = len(values)
    if n <= 1:
        return np.ones(n, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    starts = np.flatnonzero(new)  # where each distinct value begins in sorted order
    group = np.cumsum(new) - 1
    if descending:  # values above: those after the last equal one
        before_sorted = n - np.concatenate((starts[1:], [n]))[group]
    else:  # values below: those before the first equal one
        before_sorted = starts[group]
    before = np.empty(n, dtype=np.int64)
    before[order] = before_sorted
    return np.minimum(5, 1 + (5 * before) // (n - 1))


def score_arrays(recency_days: np.ndarray, frequency: np.ndarray, monetary_fen: np.ndarray) -> ScoredArrays:
    """Score customers given as parallel integer arrays (each with at least one paid order)."""
    n = len(recency_days)
    r = percent_rank_scores(recency_days, descending=True)
    f = percent_rank_scores(frequency)
    m = percent_rank_scores(monetary_fen)
    if n == 0:
        empty = np.zeros(0, dtype=np.int8)
        return ScoredArrays(r, f, m, empty, empty)
    # Strict comparisons with the means, in integers of any size: x < S/n <=> x < ceil(S/n); x > S/n <=> x > S//n.
    sum_r, sum_f = int(recency_days.sum(dtype=np.int64)), int(frequency.sum(dtype=np.int64))
    sum_m = sum(int(chunk.sum()) for chunk in np.array_split(monetary_fen, -(-n // 65536)))  # no int64 overflow
    recent = recency_days < -(-sum_r // n)
    frequent = frequency > sum_f // n
    valuable = monetary_fen > sum_m // n
    klass = _CLASS_INDEX[recent.astype(np.int8) * 4 + frequent.astype(np.int8) * 2 + valuable.astype(np.int8)]
    return ScoredArrays(r, f, m, _GRID[r, f], klass)
