"""`scrm rfm-score` end to end through the command line: exact output, and bad files rejected whole."""
from click.testing import CliRunner

from app.rfm.commands import rfm_score

GOOD = """order_id,external_userid,amount,paid_at,status
o1,wmA,100.00,2026-06-29T10:00:00+08:00,paid
o2,wmA,50.5,2026-06-01 09:00:00,paid
o3,wmB,20,2026-05-01,paid
o4,wmB,999,2026-05-02,refunded
o5,wmC,10.00,2026-06-30T20:00:00Z,paid
o6,wmC,300.00,2026-06-20,cancelled
"""


def _run(tmp_path, content: str, as_of: str = "2026-06-30"):
    orders = tmp_path / "orders.csv"
    orders.write_text(content, encoding="utf-8")
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(rfm_score, ["--orders", str(orders), "--as-of", as_of, "--out", str(out)])
    return result, out


def test_scores_written_sorted_with_two_decimals(tmp_path):
    result, out = _run(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    # wmC's order is 2026-07-01 04:00 in Shanghai: after the as-of date, so wmC has no paid order.
    assert out.read_text().splitlines() == [
        "external_userid,recency_days,frequency,monetary,r_score,f_score,m_score,segment,class8",
        "wmA,1,2,150.50,5,5,5,champions,important_value",
        "wmB,60,1,20.00,1,1,1,hibernating,general_recover",
    ]


def test_bad_rows_are_all_named_and_nothing_is_written(tmp_path):
    bad = GOOD + "o1,wmD,5,2026-06-01,paid\no7,wmD,abc,2026-06-01,paid\no8,wmD,5,yesterday,paid\n"
    result, out = _run(tmp_path, bad)
    assert result.exit_code != 0
    assert "第 8 行" in result.output and "与第 2 行重复" in result.output
    assert "第 9 行" in result.output and "abc" in result.output
    assert "第 10 行" in result.output and "yesterday" in result.output
    assert not out.exists()


def test_missing_column_is_named(tmp_path):
    result, out = _run(tmp_path, "order_id,external_userid,amount,status\no1,wmA,1,paid\n")
    assert result.exit_code != 0 and "paid_at" in result.output
    assert not out.exists()


def test_bad_as_of_date_is_refused(tmp_path):
    result, out = _run(tmp_path, GOOD, as_of="30/06/2026")
    assert result.exit_code != 0 and not out.exists()
