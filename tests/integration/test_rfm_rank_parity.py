"""Our scores (and the test oracle's) equal what SQL RANK() gives on SQLite and PostgreSQL, ties included (design:
deterministic on any database)."""
import random

import numpy as np
from sqlalchemy import text

from app.extensions import db
from app.rfm.fast_score import percent_rank_scores
from tests.rfm_oracle import percent_rank


def _sql_scores(values: list[int], descending: bool) -> list[int]:
    rows = ", ".join(f"({i}, {v})" for i, v in enumerate(values))
    order = "DESC" if descending else "ASC"
    sql = text(f"""WITH t(i, v) AS (VALUES {rows})
                   SELECT i, RANK() OVER (ORDER BY v {order}) AS r, COUNT(*) OVER () AS n FROM t ORDER BY i""")
    result = []
    for _i, rank, n in db.session.execute(sql):
        # score = min(5, 1 + floor(5 * (rank - 1) / (n - 1))) in integers: no float rounding at the cell edges
        result.append(1 if n == 1 else min(5, 1 + (5 * (rank - 1)) // (n - 1)))
    return result


def test_scores_match_sql_rank_with_many_ties(app):
    rng = random.Random(7)
    values = [rng.randint(1, 12) for _ in range(301)]
    for descending in (False, True):
        expected = _sql_scores(values, descending=descending)
        assert percent_rank(values, descending=descending) == expected
        assert percent_rank_scores(np.array(values), descending=descending).tolist() == expected
