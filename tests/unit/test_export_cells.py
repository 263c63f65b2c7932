"""Export cells: formulas are disarmed, while negative numbers and percentages stay values Excel can sum."""
import io
from datetime import date, datetime, timezone
from decimal import Decimal

from flask import Flask
from openpyxl import load_workbook

from app.core.export import COUNT, excel_safe, table_response, xlsx_response


def test_formula_text_is_disarmed_but_signed_numbers_are_left_alone():
    assert excel_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert excel_safe("-1+cmd|' /C calc'!A0") == "'-1+cmd|' /C calc'!A0"
    assert excel_safe("@SUM(A1)") == "'@SUM(A1)"
    assert excel_safe("-1") == "-1"
    assert excel_safe("-12.5") == "-12.5"
    assert excel_safe("-3.0%") == "-3.0%"
    assert excel_safe(-2) == "-2"
    assert excel_safe(None) == ""


def test_xlsx_keeps_numbers_numeric_and_text_guarded():
    with Flask(__name__).app_context():
        response = xlsx_response(["a", "b", "c", "d"], [[-1, Decimal("2.50"), "=1+1", True]], "x.xlsx", "S")
    row = [c.value for c in next(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=2))]
    assert row[0] == -1 and row[1] == 2.5
    assert row[2] == "'=1+1" and row[3] == "True"


def test_times_are_written_as_the_corps_wall_clock_and_nothing_as_an_empty_cell(app):
    """Excel stores no timezone: a UTC timestamp becomes the corp's local time (Asia/Shanghai by default), shown by
    the time format; a day by the date format; None and "" leave the cell empty; a CSV has the same local time."""
    at = datetime(2026, 12, 5, 17, 30, 15, 250000, tzinfo=timezone.utc)  # 01:30 on the 6th in Shanghai
    with app.test_request_context():
        book = xlsx_response(["at", "day", "n", "blank"], [[at, date(2026, 12, 6), None, ""], [None, None, 3, "x"]],
                             "x.xlsx", "S", [None, None, COUNT])
        text = table_response("csv", ["at", "n"], [[at, None], [None, 2]], "x", "S", [None, COUNT]).get_data(as_text=True)
    first, second = list(load_workbook(io.BytesIO(book.data)).active.iter_rows(min_row=2))
    assert (first[0].value, first[0].number_format) == (datetime(2026, 12, 6, 1, 30, 15), "yyyy-mm-dd hh:mm")
    assert (first[1].value, first[1].number_format) == (datetime(2026, 12, 6), "yyyy-mm-dd")
    assert first[2].value is None and first[3].value is None and second[0].value is None
    assert (second[2].value, second[2].number_format) == (3, "#,##0")
    assert text.lstrip("\ufeff").splitlines() == ["at,n", "2026-12-06 01:30,", ",2"]
