"""`scrm rfm-score` gives byte for byte what the RFM test oracle gives, on either reader, and rejects what it rejects."""
import csv
import io
import random
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

from app.rfm import order_csv
from app.rfm.commands import SCORE_HEADER, rfm_score
from app.rfm.fast_score import percent_rank_scores
from app.rfm.order_csv import NotPlain, read_paid_totals
from app.rfm.order_files import OrderFileError, paid_orders, read_orders
from tests.rfm_oracle import percent_rank, rfm_of

AS_OF = date(2026, 6, 30)
AMOUNTS = ["12", "12.3", "12.30", "0.05", "100.00", "7", "1999.99", " 7.50 ", "1e2", "3.", "0", "123456789012.3"]
TIMES = ["2026-06-30", "2026-06-30T23:59:59", "2026-06-30 23:59", "2026-06-30T16:00:00Z", "2026-06-30T15:59:59Z",
         "2026-07-01T00:00:00+08:00", "2026-06-30T23:59:59+08:00", "2026-06-30T12:00:00-05:00", "2026-01-02",
         "2026-05-31T08:00", "2025-12-31T23:30:00+00:00", "2026-06-30T23:59:59.5+08:00", "2024-02-29T10:00:00"]
STATUSES = ["paid", "paid", "paid", "refunded", "cancelled", "已支付", "PAID"]


def reference(path, as_of: date, zone) -> str:
    """What the per-row reader and the test oracle give: the output file's text, or the error."""
    try:
        orders = read_orders(path, zone)
    except OrderFileError as exc:
        return f"error:\n{exc}\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCORE_HEADER)
    for s in rfm_of(paid_orders(orders, zone), as_of):
        writer.writerow([s.external_userid, s.recency_days, s.frequency, f"{s.monetary:.2f}", s.r_score, s.f_score,
                         s.m_score, s.segment, s.class8])
    return out.getvalue()


def command(path, as_of: date, zone: str = "Asia/Shanghai") -> str:
    out = path.with_name("scores.csv")
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(rfm_score, ["--orders", str(path), "--as-of", as_of.isoformat(), "--out", str(out),
                                            "--timezone", zone])
    if result.exit_code:
        assert not out.exists()
        return "error:\n" + result.output.split("未写出结果:\n", 1)[1].strip() + "\n"
    return out.read_text(encoding="utf-8")


def random_orders(rng: random.Random, customers: int, orders: int) -> str:
    lines = ["order_id,external_userid,amount,paid_at,status"]
    for i in range(orders):
        who = f"wm{rng.randrange(customers):03d}"
        lines.append(f"O{i},{who},{rng.choice(AMOUNTS)},{rng.choice(TIMES)},{rng.choice(STATUSES)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(12))
def test_vectorised_output_equals_the_oracle_on_random_files(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "orders.csv"
    path.write_text(random_orders(rng, rng.choice([1, 2, 5, 40]), rng.choice([1, 3, 30, 300])), encoding="utf-8")
    want = reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    assert not want.startswith("error")
    assert command(path, AS_OF) == want


@pytest.mark.parametrize("seed", range(4))
def test_a_file_cut_into_many_pieces_gives_the_same_scores_and_line_numbers(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(order_csv, "_CHUNK_BYTES", 97)  # a few lines per piece, the pieces on several threads
    rng = random.Random(seed)
    path = tmp_path / "orders.csv"
    text = random_orders(rng, 7, 120)
    path.write_text(text, encoding="utf-8")
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    lines = text.splitlines()
    lines[90] = lines[90].replace(",wm", ",wm客户")  # an odd row late in the file
    lines[100] = lines[3].split(",")[0] + ",wmX,5,2026-06-01,paid"  # repeats line 4's order_id
    lines[110] = "O110,wmX,5,2026-06-01T25:00,paid"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = command(path, AS_OF)
    assert got == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    assert "第 101 行：订单号 O2 与第 4 行重复" in got and "第 111 行" in got


@pytest.mark.parametrize("max_runs", [1000, 2])  # non-ASCII runs checked one by one, or a piece's span at once
def test_a_file_that_is_not_utf8_is_refused_whole(tmp_path, monkeypatch, max_runs):
    monkeypatch.setattr(order_csv, "_MAX_RUNS", max_runs)
    path = tmp_path / "orders.csv"
    good = "order_id,external_userid,amount,paid_at,status,note\n" + "".join(
        f"o{i},wm{i},5,2026-06-01,paid,备注\n" for i in range(50))
    bad_note = "备注".encode("utf-8")[:-1]  # cut inside a character, in a column the scores do not read
    path.write_bytes(good.encode("utf-8") + b"o99,wm1,5,2026-06-01,paid," + bad_note + b"\n")
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(rfm_score, ["--orders", str(path), "--as-of", "2026-06-30", "--out", str(out)])
    assert result.exit_code != 0 and "UTF-8" in result.output and not out.exists()
    path.write_bytes(good.encode("utf-8"))
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("big", ["123456789012345.67", "1234567890123456.78", "99999999999999999",
                                 "99999999999999999999"])
def test_amounts_past_64_bits_of_fen_are_exact(tmp_path, big):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    f"o1,wmA,{big},2026-06-01,paid\no2,wmA,{big},2026-06-02,paid\no3,wmB,1,2026-06-02,paid\n"
                    + "".join(f"p{i},wmB,{big},2026-06-03,paid\n" for i in range(300)), encoding="utf-8")
    got = command(path, AS_OF)
    assert got == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    assert f"wmA,28,2,{Decimal(big) * 2:.2f}," in got


def test_ids_that_share_a_key_are_told_apart(tmp_path, monkeypatch):
    real = order_csv.hash_fields
    monkeypatch.setattr(order_csv, "hash_fields", lambda f, n: (np.zeros(len(f.length), np.uint64), real(f, n)[1]))
    monkeypatch.setattr(order_csv, "hash_bytes", lambda data: 0)  # every order_id and every customer: one key
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n" + "".join(
        f"o{i},wm{i % 5},{i}.5,2026-06-{1 + i % 9:02d},paid\n" for i in range(60)), encoding="utf-8")  # plain rows
    with pytest.raises(NotPlain):  # customers cannot be told apart by key: the reference reader takes the file
        read_paid_totals(path, ZoneInfo("Asia/Shanghai"), AS_OF)
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    path.write_text("order_id,external_userid,amount,paid_at,status\no1,wmA,1,2026-06-01,paid\n"
                    "o2,wmA,1,2026-06-01,paid\no1,wmB,1,2026-06-01,paid\n", encoding="utf-8")
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai")) == (
        "error:\n第 4 行：订单号 o1 与第 2 行重复\n")  # equal keys, only one repeated id


def test_one_customer_ties_refunds_later_orders_and_the_midnight_edge(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    "a1,wmA,10.00,2026-06-30T15:59:59Z,paid\n"      # 23:59:59 in Shanghai: counts, recency 0
                    "a2,wmA,99.00,2026-06-30T16:00:00Z,paid\n"      # 00:00 on July 1 in Shanghai: after the as-of day
                    "a3,wmA,50.00,2026-06-29,refunded\n", encoding="utf-8")
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai")) == (
        ",".join(SCORE_HEADER) + "\nwmA,0,1,10.00,1,1,1,hibernating,general_recover\n")
    path.write_text("order_id,external_userid,amount,paid_at,status\n" + "".join(
        f"o{i},wm{i % 6},5.00,2026-06-{10 + i % 3:02d}T08:00:00,paid\n" for i in range(24)), encoding="utf-8")
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))


def test_local_times_around_a_clock_change_follow_the_per_row_rules(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    "n1,wmA,1,2026-03-08T02:30:00,paid\n"   # does not exist in New York
                    "n2,wmB,2,2026-11-01T01:30:00,paid\n"   # happens twice in New York
                    "n3,wmC,3,2026-11-01T03:59:00Z,paid\n"
                    "n4,wmC,3,2026-11-02T04:59:00Z,paid\n", encoding="utf-8")
    as_of = date(2026, 11, 1)
    assert command(path, as_of, "America/New_York") == reference(path, as_of, ZoneInfo("America/New_York"))


def test_bad_lines_are_named_like_the_import_names_them(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    "o1,wmA,10.00,2026-06-01,paid\n"
                    "o2,wmB,1.234,2026-06-01,paid\n"
                    "o3,wmB,-5,2026-06-01,paid\n"
                    "o1,wmC,3,2026-06-01,paid\n"
                    "o4,wmC,3,2026-02-30,paid\n"
                    "\n"
                    "o5,,3,2026-06-01,paid\n"
                    "o6,wmD,3,2026-06-01,lost\n"
                    "o7,wmD,3\n"
                    "o2,wmE,4,2026-06-01T25:00,paid\n"
                    ",wmE,4,2026-06-01,paid\n"
                    f"{'x' * 65},wmE,4,2026-06-01,paid\n", encoding="utf-8")
    got = command(path, AS_OF)
    assert got == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    for line in (3, 4, 5, 6, 8, 9, 10, 11, 12, 13):
        assert f"第 {line} 行" in got
    assert "第 7 行" not in got and "与第 2 行重复" in got


def test_a_missing_column_and_a_quoted_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,status\no1,wmA,1,paid\n", encoding="utf-8")
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    path.write_text('\ufefforder_id,external_userid,amount,paid_at,status,note\r\n'
                    '"o1","wm,A","1,000.00",2026-06-01,paid,x\r\no2,wmB,5,2026-06-02,paid,"a ""b"""\r\n',
                    encoding="utf-8")
    with pytest.raises(NotPlain):
        read_paid_totals(path, ZoneInfo("Asia/Shanghai"), AS_OF)
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))


def test_crlf_bom_extra_columns_and_blank_lines(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes("\ufeffstatus,amount,note,paid_at,external_userid,order_id\r\n"
                     "paid,5.5,备注,2026-06-01T10:00:00+08:00,wmA,o1\r\n\r\n,,,,,\r\n"
                     "已退款,8,,2026-06-02,wmB,o2\r\npaid,8,,2026-06-03,wm客户,o3".encode("utf-8"))
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("seed", range(20))
def test_percent_rank_scores_equal_the_oracle(seed):
    rng = random.Random(seed)
    values = [rng.randint(0, rng.choice([1, 4, 1000])) for _ in range(rng.randint(1, 80))]
    assert percent_rank_scores(np.array(values)).tolist() == percent_rank(values)
    assert percent_rank_scores(np.array(values), descending=True).tolist() == percent_rank(values, descending=True)


def test_a_customer_with_plain_and_odd_rows_is_one_customer(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    "o1,wmA,1.00,2026-06-01,已支付\n"
                    "o2,wmA,2.00,2026-06-02,paid\n"
                    "o3,wmB,2.00,2026-06-02,paid\n"
                    "o4, wmB ,3.00,2026-06-03,paid\n", encoding="utf-8")
    read_paid_totals(path, ZoneInfo("Asia/Shanghai"), AS_OF)  # no fallback to the reference reader
    assert command(path, AS_OF) == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))


def test_a_long_id_read_by_the_per_row_rules_and_a_short_one_at_the_end_of_the_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,external_userid,amount,paid_at,status\n"
                    f"o1,{'w' * 300},1,2026-06-01,paid\no2,wmB,2,2026-06-01,paid\n", encoding="utf-8")
    got = command(path, AS_OF)
    assert got == reference(path, AS_OF, ZoneInfo("Asia/Shanghai"))
    assert got.splitlines()[1].startswith("wmB,29,1,2.00,")


COLUMNS_LINE = "order_id,external_userid,amount,paid_at,status\n"


def test_chinese_formats_and_a_gbk_file_score_as_the_import_reads_them(tmp_path):
    rows = "".join(f"o{i},wm{i % 7},{i}.5,2026-06-{1 + i % 9:02d},paid\n" for i in range(200))  # plain rows
    chinese = ("c1,wm1,¥1280.00,2026/6/3 10:00,交易成功\nc2,wm2,36.8,2026年6月4日,已付款\n"
               "c3,wm3,5,2026年6月5日 8:00,退款成功\n")  # rows for the per-row rules
    path = tmp_path / "orders.csv"
    path.write_text(COLUMNS_LINE + rows + chinese, encoding="utf-8")
    utf8 = command(path, AS_OF)
    assert utf8 == reference(path, AS_OF, ZoneInfo("Asia/Shanghai")) and not utf8.startswith("error")
    path.write_bytes((COLUMNS_LINE + rows + chinese.replace("¥", "￥")).encode("gbk"))  # Excel's CSV in China
    assert command(path, AS_OF) == utf8
