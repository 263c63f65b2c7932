"""Order values as shops and spreadsheets write them: times, amounts and status words read the same everywhere."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.rfm.order_files import OrderFileError, read_rows
from app.rfm.order_rows import normalize, parse_amount, parse_paid_at

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text, expected", [
    ("2026-12-04", datetime(2026, 12, 4)),
    ("2026-12-04 10:00", datetime(2026, 12, 4, 10)),
    ("2026/12/4 10:00", datetime(2026, 12, 4, 10)),
    ("2026/12/04 9:05:30", datetime(2026, 12, 4, 9, 5, 30)),
    ("2026-12-4", datetime(2026, 12, 4)),
    ("2026.12.4", datetime(2026, 12, 4)),
    ("2026年12月4日", datetime(2026, 12, 4)),
    ("2026年12月4日 10:00", datetime(2026, 12, 4, 10)),
    ("2026年12月4日10:00", datetime(2026, 12, 4, 10)),
    (" 2026/12/4 ", datetime(2026, 12, 4)),
    (date(2026, 12, 4), datetime(2026, 12, 4)),  # an Excel date cell
])
def test_local_times_are_corp_local(text, expected):
    assert parse_paid_at(text, SHANGHAI) == expected.replace(tzinfo=SHANGHAI)


def test_an_offset_is_kept():
    assert parse_paid_at("2026-12-04T10:00:00+00:00", SHANGHAI).utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", ["2026/13/4", "2026年2月30日", "2026/12/4 25:00", "12/4/2026", "昨天", ""])
def test_a_time_that_cannot_be_read_says_so_in_the_operators_words(text):
    with pytest.raises(ValueError) as error:
        parse_paid_at(text, SHANGHAI)
    assert str(error.value).startswith(f"支付时间无法识别：「{text}」") and "ISO" not in str(error.value)


@pytest.mark.parametrize("text, fen", [("36.80", 3680), ("¥36.80", 3680), ("￥36.8", 3680), ("1,280.00", 128000),
                                       ("¥1,280", 128000), ("12,345,678.9", 1234567890), ("99元", 9900),
                                       (" 7.50 ", 750), (199, 19900)])
def test_amounts_become_whole_fen(text, fen):
    amount = parse_amount(text)
    assert isinstance(amount, Decimal) and int(amount * 100) == fen


@pytest.mark.parametrize("text, problem", [("1,28.00", "金额无法识别"), ("abc", "金额无法识别"), ("-5", "金额不能为负数"),
                                           ("1.234", "金额最多两位小数"), ("NaN", "金额无法识别")])
def test_bad_amounts_are_named(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_amount(text)


@pytest.mark.parametrize("word, status", [("已支付", "paid"), ("已付款", "paid"), ("交易成功", "paid"), ("已完成", "paid"),
                                          ("PAID", "paid"), ("已退款", "refunded"), ("退款成功", "refunded"),
                                          ("已取消", "cancelled"), ("交易关闭", "cancelled")])
def test_status_words(word, status):
    record = {"order_id": "o1", "mobile": "13800000000", "amount": "1", "paid_at": "2026-12-04", "status": word}
    assert normalize(record, SHANGHAI).status == status


def test_an_unpaid_order_is_refused_with_the_words_that_work():
    record = {"order_id": "o1", "mobile": "13800000000", "amount": "1", "paid_at": "2026-12-04", "status": "待付款"}
    with pytest.raises(ValueError, match="订单状态无法识别：「待付款」（可写 已支付、已退款、已取消"):
        normalize(record, SHANGHAI)


def _cells(tmp_path, data: bytes) -> list[list[str]]:
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    header, rows = read_rows(path)
    return [header] + [cells for _line, cells in rows]


def test_csv_text_is_utf8_with_or_without_bom_or_gbk(tmp_path):
    text = "订单号,状态\nA1,交易成功\n"
    expected = [["订单号", "状态"], ["A1", "交易成功"]]
    assert _cells(tmp_path, text.encode("utf-8")) == expected
    assert _cells(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8")) == expected
    assert _cells(tmp_path, text.encode("gbk")) == expected
    assert _cells(tmp_path, "订单号,状态\nA1,𠮷\n".encode("gb18030")) == [["订单号", "状态"], ["A1", "𠮷"]]


def test_a_damaged_utf8_file_names_its_line(tmp_path):
    data = "订单号,状态\nA1,交易成功\nA2,".encode("utf-8") + "已完成".encode("utf-8")[:-1] + b"\n"
    with pytest.raises(OrderFileError) as error:
        _cells(tmp_path, data)
    assert str(error.value).startswith("第 3 行：") and "UTF-8" in str(error.value)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\n\n", b",,,\nA1,wmA,1.00\n"], ids=["bom_only", "blank", "no_names"])
def test_a_file_whose_first_line_is_empty_is_refused_as_having_no_header(tmp_path, data):
    with pytest.raises(OrderFileError) as refused:
        _cells(tmp_path, data)
    assert "第一行应是表头" in str(refused.value.errors[0].message)
