"""RFM scoring follows the decided rules exactly: PERCENT_RANK scores, shared ties, the grid, the 8 classes."""
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from app.rfm.fast_score import percent_rank_scores
from app.rfm.scoring import PaidOrder, score
from app.rfm.segments import CLASSES, SEGMENTS, segment_for

AS_OF = date(2026, 6, 30)


def _scores(values: list[int], descending: bool = False) -> list[int]:
    return percent_rank_scores(np.array(values), descending=descending).tolist()


def orders_for(who: str, days_ago: list[int], amount: str = "10.00") -> list[PaidOrder]:
    return [PaidOrder(f"{who}-{i}", who, Decimal(amount), AS_OF - timedelta(days=d))
            for i, d in enumerate(days_ago)]


def test_scores_follow_percent_rank_with_shared_ties():
    assert _scores([1, 1, 2, 3, 5, 8]) == [1, 1, 3, 4, 5, 5]


def test_recency_ranks_descending_so_the_most_recent_get_5():
    assert _scores([0, 10, 10, 40], descending=True) == [5, 2, 2, 1]


def test_a_single_customer_scores_1_everywhere():
    [only] = score(orders_for("a", [3]), AS_OF)
    assert (only.r_score, only.f_score, only.m_score) == (1, 1, 1)
    assert only.segment == "hibernating"


def test_segments_partition_the_whole_grid():
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    owners = {cell: [k for k, _l, rs, fs in SEGMENTS if cell[0] in rs and cell[1] in fs] for cell in cells}
    assert all(len(keys) == 1 for keys in owners.values())
    assert segment_for(5, 5) == "champions" and segment_for(1, 5) == "cant_lose"
    assert segment_for(3, 3) == "need_attention" and segment_for(4, 1) == "promising"


def test_recency_frequency_monetary_and_later_orders_ignored():
    orders = orders_for("a", [5, 40]) + [PaidOrder("late", "a", Decimal("99"), AS_OF + timedelta(days=1))]
    [a] = score(orders, AS_OF)
    assert (a.recency_days, a.frequency, a.monetary) == (5, 2, Decimal("20.00"))


def test_eight_classes_compare_strictly_with_the_means():
    # recency: a=0, b=10, c=20 (mean 10) -> b is NOT recent; frequency 1,2,3 (mean 2) -> b NOT high.
    orders = orders_for("a", [0], "300") + orders_for("b", [10, 11], "100") + orders_for("c", [20, 21, 22], "50")
    result = {s.external_userid: s.class8 for s in score(orders, AS_OF)}
    # monetary: a=300, b=200, c=150 (mean 216.67)
    assert result == {"a": "important_develop", "b": "general_recover", "c": "general_retain"}
    assert len({key for key, *_ in CLASSES}) == 8


def test_output_is_sorted_by_external_userid():
    orders = orders_for("zz", [1]) + orders_for("aa", [2]) + orders_for("mm", [3])
    assert [s.external_userid for s in score(orders, AS_OF)] == ["aa", "mm", "zz"]


@pytest.mark.parametrize("n", [2, 7, 50])
def test_scores_always_span_1_to_5(n):
    scores = _scores(list(range(n)))
    assert scores[0] == 1 and scores[-1] == 5 and scores == sorted(scores)
